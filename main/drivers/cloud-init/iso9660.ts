/**
 * A minimal ISO 9660 writer for cloud-init's NoCloud seed: one volume (id `cidata`), a flat root
 * directory of small files. Enough for Linux's isofs and blkid; written by Moor itself so that
 * creating a machine needs no genisoimage/xorriso/cloud-localds on the user's computer.
 *
 * Names are stored as given in upper case with `;1` (Linux shows `user-data`, lower-cased, without the
 * version); no Rock Ridge or Joliet: the seed's names are short, ASCII and lower-case by nature.
 */

const SECTOR = 2048;

export interface IsoFile {
  name: string;
  data: Uint8Array;
}

function both16(n: number): Uint8Array {
  const b = new Uint8Array(4);
  const v = new DataView(b.buffer);
  v.setUint16(0, n, true);
  v.setUint16(2, n, false);
  return b;
}

function both32(n: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, n, true);
  v.setUint32(4, n, false);
  return b;
}

function ascii(text: string, length: number, pad = ' '): Uint8Array {
  return new TextEncoder().encode(text.padEnd(length, pad).slice(0, length));
}

/** ISO 9660 7-byte recording date (directory records). */
function shortDate(d: Date): Uint8Array {
  return Uint8Array.of(
    d.getUTCFullYear() - 1900,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  );
}

/** ISO 9660 17-byte volume date (descriptors). */
function longDate(d: Date): Uint8Array {
  const p = (n: number, w: number) => String(n).padStart(w, '0');
  const text =
    p(d.getUTCFullYear(), 4) +
    p(d.getUTCMonth() + 1, 2) +
    p(d.getUTCDate(), 2) +
    p(d.getUTCHours(), 2) +
    p(d.getUTCMinutes(), 2) +
    p(d.getUTCSeconds(), 2) +
    '00';
  const out = new Uint8Array(17);
  out.set(new TextEncoder().encode(text));
  return out;
}

function directoryRecord(
  identifier: Uint8Array,
  extent: number,
  size: number,
  isDirectory: boolean,
  date: Date,
): Uint8Array {
  const length = 33 + identifier.length + (identifier.length % 2 === 0 ? 1 : 0);
  const r = new Uint8Array(length);
  r[0] = length;
  r.set(both32(extent), 2);
  r.set(both32(size), 10);
  r.set(shortDate(date), 18);
  r[25] = isDirectory ? 2 : 0;
  r.set(both16(1), 28); // volume sequence number
  r[32] = identifier.length;
  r.set(identifier, 33);
  return r;
}

/** The file identifier stored for a name (`user-data` → `USER-DATA;1`); refuses what isofs cannot show. */
export function isoIdentifier(name: string): string {
  if (!/^[a-z0-9_-]{1,30}(\.[a-z0-9_-]{1,8})?$/i.test(name)) {
    throw new Error(`"${name}" cannot be stored in the seed image (letters, digits, - and _ only)`);
  }
  return `${name.toUpperCase()};1`;
}

/** The whole image: 16 system sectors, primary + terminator descriptors, path tables, root, files. */
export function buildIso(volumeId: string, files: readonly IsoFile[], date = new Date()): Uint8Array {
  const enc = new TextEncoder();
  const sorted = [...files].sort((a, b) => (isoIdentifier(a.name) < isoIdentifier(b.name) ? -1 : 1));
  const pvdSector = 16;
  const lPathSector = 18;
  const mPathSector = 19;
  const rootSector = 20;
  let next = 21;
  const placed = sorted.map((f) => {
    const extent = next;
    next += Math.max(1, Math.ceil(f.data.length / SECTOR));
    return { ...f, extent, id: enc.encode(isoIdentifier(f.name)) };
  });
  const totalSectors = next;

  const self = directoryRecord(Uint8Array.of(0), rootSector, SECTOR, true, date);
  const parent = directoryRecord(Uint8Array.of(1), rootSector, SECTOR, true, date);
  const records = [
    self,
    parent,
    ...placed.map((f) => directoryRecord(f.id, f.extent, f.data.length, false, date)),
  ];
  const rootSize = records.reduce((n, r) => n + r.length, 0);
  if (rootSize > SECTOR) throw new Error('too many files for the seed image');

  const image = new Uint8Array(totalSectors * SECTOR);
  const at = (sector: number) => sector * SECTOR;

  // Primary volume descriptor.
  const pvd = at(pvdSector);
  image[pvd] = 1;
  image.set(enc.encode('CD001'), pvd + 1);
  image[pvd + 6] = 1;
  image.set(ascii('', 32), pvd + 8); // system identifier
  image.set(ascii(volumeId, 32), pvd + 40);
  image.set(both32(totalSectors), pvd + 80);
  image.set(both16(1), pvd + 120); // volume set size
  image.set(both16(1), pvd + 124); // volume sequence number
  image.set(both16(SECTOR), pvd + 128);
  image.set(both32(10), pvd + 132); // path table size: one root entry
  new DataView(image.buffer).setUint32(pvd + 140, lPathSector, true);
  new DataView(image.buffer).setUint32(pvd + 148, mPathSector, false);
  image.set(directoryRecord(Uint8Array.of(0), rootSector, SECTOR, true, date), pvd + 156);
  for (const offset of [190, 318, 446, 574]) image.set(ascii('', 128), pvd + offset);
  image.set(ascii('', 37 * 2 + 37), pvd + 702);
  for (const offset of [813, 830]) image.set(longDate(date), pvd + offset);
  for (const offset of [847, 864]) image.set(ascii('0000000000000000', 16, '0'), pvd + offset);
  image[pvd + 881] = 1; // file structure version

  // Volume descriptor set terminator.
  const term = at(pvdSector + 1);
  image[term] = 255;
  image.set(enc.encode('CD001'), term + 1);
  image[term + 6] = 1;

  // Path tables (little- and big-endian): the root directory only.
  for (const [sector, little] of [
    [lPathSector, true],
    [mPathSector, false],
  ] as const) {
    const o = at(sector);
    image[o] = 1;
    new DataView(image.buffer).setUint32(o + 2, rootSector, little);
    new DataView(image.buffer).setUint16(o + 6, 1, little);
  }

  let o = at(rootSector);
  for (const r of records) {
    image.set(r, o);
    o += r.length;
  }
  for (const f of placed) image.set(f.data, at(f.extent));
  return image;
}
