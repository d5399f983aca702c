/** An endpoint override: `http://host:port` means plain HTTP to that host (the local stack); a bare host means HTTPS. */
export interface EndpointOverride {
  protocol: 'http' | 'https';
  host: string;
}

export function parseEndpoint(value: string): EndpointOverride {
  const match = /^(https?):\/\/([^/\s]+)\/?$/.exec(value);
  if (match) return { protocol: match[1] as 'http' | 'https', host: match[2]! };
  if (/^[^/\s:]+(:\d+)?$/.test(value)) return { protocol: 'https', host: value };
  throw new Error(`not an endpoint: "${value}" (expected host, host:port, or http(s)://host[:port])`);
}
