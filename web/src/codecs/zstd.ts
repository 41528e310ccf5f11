// The zstd codec of the server's OME-Zarr chunks (numcodecs "zstd"),
// decoded by fzstd (plain JavaScript: no WebAssembly built with eval, so
// the page's Content-Security-Policy needs no 'unsafe-eval').
import { decompress } from 'fzstd';

export default class Zstd {
  static codecId = 'zstd';
  kind = 'bytes_to_bytes' as const;
  static fromConfig() {
    return new Zstd();
  }
  encode(): Uint8Array {
    throw new Error('zstd: this viewer only decodes');
  }
  decode(bytes: Uint8Array): Uint8Array {
    return decompress(bytes);
  }
}
