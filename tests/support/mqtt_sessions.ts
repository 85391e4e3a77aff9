/** MQTT session clean-up for tests. */
import { connectAsync } from 'mqtt';

/** Removes a persistent session from a broker (clean start, MQTT 5 session expiry 0). */
export async function discardSession(url: string, clientId: string, protocolVersion: 4 | 5): Promise<void> {
  const client = await connectAsync(url, {
    clientId,
    clean: true,
    protocolVersion,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 0 } } : {}),
  });
  await client.endAsync();
}
