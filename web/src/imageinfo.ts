// An image's record, its layers and its problem's class: what a viewer
// needs first (cached per image; the app starts it while the viewer's code
// loads).
import { api, ImageRec, Layer } from './api';

export interface ImageInfo {
  image: ImageRec;
  cls: string;
  layers: Layer[];
}

const infos = new Map<number, Promise<ImageInfo>>();
export function imageInfo(id: number): Promise<ImageInfo> {
  let p = infos.get(id);
  if (!p) {
    p = (async () => {
      const [image, layers] = await Promise.all([api<ImageRec>(`/images/${id}`), api<Layer[]>(`/images/${id}/layers`)]);
      const problem = await api<{ class: string }>(`/problems/${encodeURIComponent(image.problem)}`);
      return { image, layers, cls: problem.class };
    })();
    infos.set(id, p);
    // kept a few seconds, for the page that asked early; a later visit asks
    // again (new runs add layers)
    p.then(
      () => setTimeout(() => infos.delete(id), 5000),
      () => infos.delete(id),
    );
  }
  return p;
}
