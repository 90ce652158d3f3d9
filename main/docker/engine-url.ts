// What a machine URL is, without loading the engine client (https, tls): `moor url` and `ls`'s
// quick paths need only this.

/** The https origin of tcp://host:port (or https://…), or null for anything else. */
export function parseEngineUrl(dockerHost: string): URL | null {
  if (!/^(tcp|https):\/\//i.test(dockerHost)) return null;
  try {
    const url = new URL(dockerHost.replace(/^tcp:/i, 'https:'));
    return url.hostname ? url : null;
  } catch {
    return null;
  }
}

/**
 * Whether a machine's URL names an engine that can be asked anything. `create -d none --url X`
 * takes any string, as docker-machine does (`--url none` is common for placeholder machines):
 * such a machine has no state or version to query.
 */
export function isEngineUrl(dockerHost: string): boolean {
  return parseEngineUrl(dockerHost) !== null;
}
