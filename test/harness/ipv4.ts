/** IPv4 dotted quads as numbers, for walking loopback address ranges (127.0.20.1–127.0.29.254, ...). */
export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}
