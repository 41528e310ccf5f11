// The viewer pages (Viv, deck.gl, luma.gl: most of the code) load only when
// one is opened: the other pages start without them. While their code
// downloads, the page starts what it will need first: the image's records
// (imageInfo) and a WebGL2 context (on a software GPU, making one is a
// good part of a viewer's start).
import { useEffect, useState } from 'preact/hooks';
import { Err, Loading } from './ui';
import { imageInfo } from './imageinfo';

let viewer: Promise<typeof import('./pages/ImagePage')> | null = null;
let early: HTMLCanvasElement | null = null;

// A canvas with its WebGL2 context made, once (the first viewer's).
export function takeEarlyCanvas(): HTMLCanvasElement | null {
  const c = early;
  early = null;
  return c;
}

function start(page: string, props: Record<string, unknown>) {
  const first = !viewer;
  viewer ||= import('./pages/ImagePage');
  if (page === 'ImagePage' && typeof props.id === 'number') imageInfo(props.id).catch(() => {});
  if (first) {
    // the attributes luma.gl asks for (its getContext then returns this one)
    const c = document.createElement('canvas');
    if (c.getContext('webgl2', { preserveDrawingBuffer: true, powerPreference: 'high-performance' })) early = c;
  }
}

export function Lazy({ page, props }: { page: 'ImagePage' | 'ComparePage'; props: Record<string, unknown> }) {
  const [mod, setMod] = useState<typeof import('./pages/ImagePage') | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    start(page, props);
    viewer!.then(setMod, (e) => {
      viewer = null;
      setErr(`the viewer could not be loaded: ${e.message || e}`);
    });
  }, []);
  if (err) return <Err msg={err} />;
  if (!mod) return <Loading />;
  const C = mod[page] as any;
  return <C {...props} />;
}
