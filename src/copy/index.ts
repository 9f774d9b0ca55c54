/** The copy engine: copy an image or a list of images between any two transports. */
export { copyImage } from './copy.js';
export type {
  CopyOptions,
  CopyResult,
  DestinationCompressionOptions,
  ImageListSelection,
  ProgressEvent,
  SigningOptions,
} from './types.js';
