// Wire helpers for docs/protocol.md: frame decoding and the bits of input messages.

export const FRAME_KIND = 0x01;

// Close codes and bye codes after which the viewer must not reconnect.
export const STOP_CODES = new Set(['unauthorized', 'not_found', 'session_ended', 'replaced', 'declined']);
export const STOP_CLOSE = new Map([[4000, 'session_ended'], [4001, 'unauthorized'], [4002, 'replaced'], [4003, 'declined'], [4004, 'not_found']]);

const decoder = new TextDecoder();

// decodeFrame splits a binary message into its JSON header and JPEG bytes; null if malformed.
export function decodeFrame(buf) {
  if (!(buf instanceof ArrayBuffer) || buf.byteLength < 5) return null;
  const view = new DataView(buf);
  if (view.getUint8(0) !== FRAME_KIND) return null;
  const n = view.getUint32(1, false);
  if (5 + n > buf.byteLength) return null;
  let header;
  try {
    header = JSON.parse(decoder.decode(new Uint8Array(buf, 5, n)));
  } catch {
    return null;
  }
  return { header, jpeg: new Blob([new Uint8Array(buf, 5 + n)], { type: 'image/jpeg' }) };
}

// modifiers packs an event's modifier keys: Alt = 1, Ctrl = 2, Meta = 4, Shift = 8.
export function modifiers(e) {
  return (e.altKey ? 1 : 0) | (e.ctrlKey ? 2 : 0) | (e.metaKey ? 4 : 0) | (e.shiftKey ? 8 : 0);
}

// buttonName maps MouseEvent.button to the protocol's names.
export function buttonName(b) {
  return ['left', 'middle', 'right'][b] || 'none';
}

// wheelPixels converts a wheel event's deltas to CSS pixels whatever its deltaMode.
export function wheelPixels(e, pageHeight) {
  const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? pageHeight || 800 : 1;
  return { deltaX: e.deltaX * unit, deltaY: e.deltaY * unit };
}

export const clamp01 = (v) => (v < 0 ? 0 : v > 1 ? 1 : v);
