// The viewer pages (Viv, deck.gl, luma.gl: most of the code) load only when
// one is opened: the other pages start without them.
import { useEffect, useState } from 'preact/hooks';
import { Err, Loading } from './ui';

let viewer: Promise<typeof import('./pages/ImagePage')> | null = null;

export function Lazy({ page, props }: { page: 'ImagePage' | 'ComparePage'; props: Record<string, unknown> }) {
  const [mod, setMod] = useState<typeof import('./pages/ImagePage') | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    viewer ||= import('./pages/ImagePage');
    viewer.then(setMod, (e) => {
      viewer = null;
      setErr(`the viewer could not be loaded: ${e.message || e}`);
    });
  }, []);
  if (err) return <Err msg={err} />;
  if (!mod) return <Loading />;
  const C = mod[page] as any;
  return <C {...props} />;
}
