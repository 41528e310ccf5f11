// Codecs the server never writes (blosc, lz4): left out of the bundle.
export default class Unsupported {
  static fromConfig(c: { id?: string }) {
    throw new Error(`the ${c?.id || 'chunk'} codec is not supported by this viewer (the server writes zstd)`);
  }
}
