// What a viewer loads: the image's record and layers, OME-Zarr pyramids
// (Viv pixel sources over zarrita, cached per URL), planes of label masks,
// vector overlays and a run's error map of an image.
import { loadOmeZarr } from '@vivjs/loaders';
import { api } from '../api';

export interface Pyramid {
  data: any[]; // ZarrPixelSource per level, finest first
  metadata: any; // the group's .zattrs (multiscales, omero, image-label)
}

const pyramids = new Map<string, Promise<Pyramid>>();
export function pyramid(zarrPath: string): Promise<Pyramid> {
  let p = pyramids.get(zarrPath);
  if (!p) {
    p = loadOmeZarr(location.origin + zarrPath, { type: 'multiscales' }) as Promise<Pyramid>;
    p.catch(() => pyramids.delete(zarrPath));
    pyramids.set(zarrPath, p);
  }
  return p;
}

export { imageInfo } from '../imageinfo';
export type { ImageInfo } from '../imageinfo';

// Classes whose GT and results are objects drawn as vectors, not masks.
export const VECTOR_CLASSES: Record<string, 'points' | 'tracks' | 'trace'> = {
  SptCnt: 'points',
  ObjDet: 'points',
  LndDet: 'points',
  PrtTrk: 'tracks',
  ObjTrk: 'tracks',
  TreTrc: 'trace',
};
// Classes whose masks are shown as labels (ObjTrk: both).
export function hasMasks(cls: string): boolean {
  return !VECTOR_CLASSES[cls] || cls === 'ObjTrk';
}

// A plane of a pyramid's finest level: {data, width, height}.
const planes = new Map<string, Promise<{ data: ArrayLike<number>; width: number; height: number }>>();
export function plane(zarrPath: string, z: number, t: number, c = 0) {
  const key = `${zarrPath}|${z}|${t}|${c}`;
  let p = planes.get(key);
  if (!p) {
    p = pyramid(zarrPath).then((py) => py.data[0].getRaster({ selection: { t, c, z } }));
    p.catch(() => planes.delete(key));
    planes.set(key, p);
    if (planes.size > 24) planes.delete(planes.keys().next().value as string);
  }
  return p;
}

export interface Overlay {
  kind: 'points' | 'tracks' | 'trace';
  columns: string[];
  items: any[][];
  total: number;
  returned: number;
  truncated: boolean;
  categories: Record<string, number>;
}
export function overlay(id: number, layer: string, q: { z?: number; t?: number; run?: number }): Promise<Overlay> {
  const s = new URLSearchParams({ limit: '100000' });
  if (q.z !== undefined) s.set('z', String(q.z));
  if (q.t !== undefined) s.set('t', String(q.t));
  if (q.run) s.set('run', String(q.run));
  return api<Overlay>(`/images/${id}/overlays/${layer}?${s}`);
}

export interface ErrObject {
  kind: 'gt' | 'pred';
  id: number;
  status: string;
  match: number | null;
  score: number | null;
  centroid: number[];
  where: string;
  frame: number | null;
  detail: Record<string, any>;
}
const errCache = new Map<string, Promise<ErrObject[]>>();
export function runErrors(run: number, image: number): Promise<ErrObject[]> {
  const k = `${run}/${image}`;
  let p = errCache.get(k);
  if (!p) {
    p = api<ErrObject[]>(`/runs/${run}/errors?image=${image}`);
    p.catch(() => errCache.delete(k));
    errCache.set(k, p);
  }
  return p;
}

// The category an object is coloured by in the error map.
// AOGM operations of a tracking error map (CTC-MEASURES.md): NS a split
// object, EA a link the result misses, ED a spurious link, EC a link of
// the wrong kind.
const AOGM: Record<string, string> = { NS: 'split', EA: 'missed link', ED: 'spurious link', EC: 'switched link' };
export function category(o: ErrObject): string {
  if (AOGM[o.status]) return AOGM[o.status];
  if (o.detail?.merged) return 'merged';
  if (o.detail?.split) return 'split';
  return o.status;
}

export function hexColor(h: string | undefined): [number, number, number] {
  const m = /^#?([0-9a-f]{6})$/i.exec(h || '');
  if (!m) return [255, 255, 255];
  const v = parseInt(m[1], 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// Range and a 64-bin histogram of a plane (for the contrast controls).
export interface Histo {
  min: number;
  max: number;
  bins: number[];
}
export function histogram(data: ArrayLike<number>): Histo {
  let min = Infinity,
    max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!isFinite(min)) min = max = 0;
  const bins = new Array(64).fill(0);
  const span = max - min || 1;
  for (let i = 0; i < data.length; i++) bins[Math.min(63, Math.floor(((data[i] - min) / span) * 64))]++;
  return { min, max, bins };
}

export function dtypeRange(dtype: string): [number, number] {
  switch (dtype) {
    case 'Uint8':
    case 'uint8':
      return [0, 255];
    case 'Uint16':
    case 'uint16':
      return [0, 65535];
    case 'Int16':
      return [-32768, 32767];
    case 'Uint32':
    case 'uint32':
      return [0, 4294967295];
    default:
      return [0, 1];
  }
}
