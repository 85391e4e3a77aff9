/**
 * Public entry of the embedded MQTT broker: start it, give it credentials and topic
 * ACLs, and hook in before devices are acknowledged.
 */
export type { BeforeAck, DeviceClientIds, IncomingPublish } from './access_control.js';
export {
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  type PassThroughAedesOptions,
  startEmbeddedBroker,
} from './embedded_broker.js';
export { hashPassword, isPasswordHash, verifyPassword } from './password_hash.js';
export {
  type DeviceCredentials,
  type DevicePrincipal,
  isValidDeviceId,
  type Principal,
  type ServicePrincipal,
} from './principal.js';
export { developmentCredentials } from './development_credentials.js';
export { type StaticCredential, staticCredentials } from './static_credentials.js';
export {
  type DeviceAclTemplates,
  defaultDeviceAcl,
  filterCovers,
  isValidTopicFilter,
  topicMatchesFilter,
} from './topic_acl.js';
