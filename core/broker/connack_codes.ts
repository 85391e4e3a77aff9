/**
 * The CONNACK return codes the broker's authentication refuses a CONNECT with, in one place for
 * the credential check and the client id checks of `access_control.ts`.
 */
import type { AuthErrorCode } from 'aedes';

// CONNACK return codes of MQTT 3.1.1; aedes declares them as an ambient const enum,
// which isolatedModules cannot read.
export const IDENTIFIER_REJECTED = 2 as AuthErrorCode;
export const SERVER_UNAVAILABLE = 3 as AuthErrorCode;
export const BAD_USERNAME_OR_PASSWORD = 4 as AuthErrorCode;
export const NOT_AUTHORIZED = 5 as AuthErrorCode;
