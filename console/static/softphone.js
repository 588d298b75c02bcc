// The browser softphone: calls the assistant from the microphone, speaking Twilio's Media
// Streams protocol on /twilio/media exactly as Twilio does for a phone call (see
// telephony/serializer.py and the Python simulated caller in telephony/caller.py).
//
// Out: `connected`, `start` (a made-up callSid/streamSid, customParameters {from:
// "softphone"}), a `media` event of 160 μ-law bytes every 20 ms, `dtmf`, our echo of each
// `mark` once the audio before it has played, and `stop` on hang-up.
// In: the bot's `media` (8 kHz μ-law, played through an AudioContext), `mark` (the bot's
// words are in the names: bot:<turn>:<piece>:<text>, see telephony/speech.py) and `clear`
// (the caller barged in: drop what is queued and echo every pending mark at once).
"use strict";

const RATE = 8000;
const FRAME_SAMPLES = 160; // 20 ms at 8 kHz
const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;
const LOWPASS_HZ = 3400; // telephone band; applied before the downsampling
const PLAYOUT_LEAD_SECS = 0.06; // scheduled ahead, so that network jitter does not click

// --- G.711 μ-law and downsampling (also sent into the AudioWorklet as source text) -----------

function toInt16(x) {
  const s = Math.max(-1, Math.min(1, x));
  return Math.round(s < 0 ? s * 32768 : s * 32767);
}

function ulawEncodeSample(sample) {
  const sign = sample < 0 ? 0x80 : 0;
  const magnitude = Math.min(Math.abs(sample), ULAW_CLIP) + ULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function ulawDecodeSample(code) {
  const bits = ~code & 0xff;
  const exponent = (bits >> 4) & 0x07;
  const magnitude = ((((bits & 0x0f) << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
  return bits & 0x80 ? -magnitude : magnitude;
}

// Fractional-rate decimation by linear interpolation, across blocks. The input has been
// low-passed below 4 kHz by the audio graph, so nothing aliases.
class Downsampler {
  constructor(inRate, outRate) {
    this.step = inRate / outRate;
    this.t = 0; // position of the next output sample; -1 is the previous block's last sample
    this.last = 0;
  }

  process(input) {
    const out = [];
    let t = this.t;
    while (t <= input.length - 1) {
      const i = Math.floor(t);
      const a = i < 0 ? this.last : input[i];
      const b = i + 1 < input.length ? input[i + 1] : a;
      out.push(a + (b - a) * (t - i));
      t += this.step;
    }
    this.t = t - input.length;
    if (input.length) this.last = input[input.length - 1];
    return out;
  }
}

// Microphone samples -> 20 ms μ-law frames (Uint8Array of 160), posted with their RMS level.
class FrameEncoder {
  constructor(inRate) {
    this.down = new Downsampler(inRate, RATE);
    this.frame = new Uint8Array(FRAME_SAMPLES);
    this.filled = 0;
    this.energy = 0;
  }

  push(samples, emit) {
    for (const x of this.down.process(samples)) {
      this.energy += x * x;
      this.frame[this.filled++] = ulawEncodeSample(toInt16(x));
      if (this.filled === FRAME_SAMPLES) {
        emit(this.frame, Math.sqrt(this.energy / FRAME_SAMPLES));
        this.frame = new Uint8Array(FRAME_SAMPLES);
        this.filled = 0;
        this.energy = 0;
      }
    }
  }
}

const WORKLET_SOURCE = `
const RATE = ${RATE}, FRAME_SAMPLES = ${FRAME_SAMPLES};
const ULAW_BIAS = ${ULAW_BIAS}, ULAW_CLIP = ${ULAW_CLIP};
${toInt16}
${ulawEncodeSample}
${Downsampler}
${FrameEncoder}
class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.encoder = new FrameEncoder(sampleRate);
    this.silence = new Float32Array(128);
  }
  process(inputs) {
    // No input (a muted or missing microphone) is silence: Twilio never stops sending.
    const channel = (inputs[0] && inputs[0][0]) || this.silence;
    this.encoder.push(channel, (frame, level) => this.port.postMessage({ frame, level }));
    return true;
  }
}
registerProcessor("softphone-capture", CaptureProcessor);
`;

// --- Twilio's side of the protocol -----------------------------------------------------------

function randomHex(bytes) {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(values, (v) => v.toString(16).padStart(2, "0")).join("");
}

function toBase64(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function fromBase64(payload) {
  const text = atob(payload);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// The (turn, piece or null for the end mark, text) of a bot mark; null for other marks.
function parseMark(name) {
  const parts = String(name).split(":");
  if (parts.length < 3 || parts[0] !== "bot" || !/^\d+$/.test(parts[1])) return null;
  const turn = Number(parts[1]);
  if (parts[2] === "end") return { turn, piece: null, text: "" };
  if (!/^\d+$/.test(parts[2])) return null;
  return { turn, piece: Number(parts[2]), text: parts.slice(3).join(":") };
}

const DECODE_TABLE = Float32Array.from({ length: 256 }, (_, c) => ulawDecodeSample(c) / 32768);

class Call {
  constructor(url, view) {
    this.url = url;
    this.view = view;
    this.streamSid = `MZ${randomHex(16)}`;
    this.callSid = `CA${randomHex(16)}`;
    this.sequence = 0;
    this.chunk = 0;
    this.sources = new Set();
    this.playHead = 0;
    this.pendingMarks = [];
    this.ended = false;
  }

  async start() {
    this.media = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    });
    this.context = new AudioContext();
    await this.context.resume();
    await this.startCapture();
    this.ws = new WebSocket(this.url);
    this.ws.onopen = () => this.opened();
    this.ws.onmessage = (event) => this.received(event.data);
    this.ws.onclose = (event) => this.closed(event);
    this.ws.onerror = () => this.view.status("Connection failed");
    this.markTimer = setInterval(() => this.echoDueMarks(false), 20);
  }

  async startCapture() {
    const ctx = this.context;
    const source = ctx.createMediaStreamSource(this.media);
    let node = source;
    for (let i = 0; i < 2; i++) {
      const lowpass = new BiquadFilterNode(ctx, { type: "lowpass", frequency: LOWPASS_HZ });
      node.connect(lowpass);
      node = lowpass;
    }
    const mute = new GainNode(ctx, { gain: 0 }); // processors only run when pulled
    mute.connect(ctx.destination);
    const emit = (frame, level) => this.sendFrame(frame, level);
    if (ctx.audioWorklet) {
      const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: "text/javascript" }));
      await ctx.audioWorklet.addModule(url);
      URL.revokeObjectURL(url);
      this.capture = new AudioWorkletNode(ctx, "softphone-capture");
      this.capture.port.onmessage = (event) => emit(event.data.frame, event.data.level);
    } else {
      const encoder = new FrameEncoder(ctx.sampleRate); // older browsers: ScriptProcessor
      this.capture = ctx.createScriptProcessor(1024, 1, 1);
      this.capture.onaudioprocess = (event) => encoder.push(event.inputBuffer.getChannelData(0), emit);
    }
    node.connect(this.capture);
    this.capture.connect(mute);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.sequence += 1;
      this.ws.send(JSON.stringify({ ...message, sequenceNumber: String(this.sequence) }));
    }
  }

  opened() {
    this.startedAt = performance.now();
    this.send({ event: "connected", protocol: "Call", version: "1.0.0" });
    this.send({
      event: "start",
      streamSid: this.streamSid,
      start: {
        streamSid: this.streamSid,
        accountSid: "ACsoftphone",
        callSid: this.callSid,
        tracks: ["inbound"],
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: RATE, channels: 1 },
        customParameters: { from: "softphone" },
      },
    });
    this.view.connected(this);
  }

  sendFrame(frame, level) {
    if (!this.startedAt || this.ended) return;
    this.chunk += 1;
    this.send({
      event: "media",
      streamSid: this.streamSid,
      media: {
        track: "inbound",
        chunk: String(this.chunk),
        timestamp: String(Math.round(performance.now() - this.startedAt)),
        payload: toBase64(frame),
      },
    });
    this.view.level(level);
  }

  dtmf(digit) {
    this.send({
      event: "dtmf",
      streamSid: this.streamSid,
      dtmf: { track: "inbound_track", digit },
    });
  }

  received(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (message.event === "media" && message.media) this.play(message.media.payload);
    else if (message.event === "mark" && message.mark) this.queueMark(message.mark.name);
    else if (message.event === "clear") this.clear();
  }

  play(payload) {
    const ulaw = fromBase64(payload);
    if (!ulaw.length || this.context.state === "closed") return;
    const buffer = this.context.createBuffer(1, ulaw.length, RATE);
    const samples = buffer.getChannelData(0);
    for (let i = 0; i < ulaw.length; i++) samples[i] = DECODE_TABLE[ulaw[i]];
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const at = Math.max(this.playHead, this.context.currentTime + PLAYOUT_LEAD_SECS);
    source.start(at);
    this.playHead = at + buffer.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  // Twilio echoes a mark once the audio sent before it has played.
  queueMark(name) {
    const at = Math.max(this.playHead, this.context.currentTime);
    this.pendingMarks.push({ at, name });
  }

  echoDueMarks(everything) {
    if (!this.context) return;
    const now = this.context.currentTime;
    const due = this.pendingMarks.filter((m) => everything || m.at <= now);
    this.pendingMarks = this.pendingMarks.filter((m) => !due.includes(m));
    for (const { name } of due) {
      this.send({ event: "mark", streamSid: this.streamSid, mark: { name } });
      const mark = parseMark(name);
      // A piece's mark comes back as it starts playing; after a clear it was never heard.
      if (mark) this.view.botSaid(mark, !everything);
    }
  }

  clear() {
    for (const source of this.sources) {
      try {
        source.stop();
      } catch {
        // not started yet
      }
    }
    this.sources.clear();
    this.playHead = this.context.currentTime;
    this.echoDueMarks(true);
    this.view.cleared();
  }

  hangUp() {
    if (this.ended) return;
    this.send({
      event: "stop",
      streamSid: this.streamSid,
      stop: { accountSid: "ACsoftphone", callSid: this.callSid },
    });
    this.finish("You hung up", 0);
    if (this.ws) this.ws.close(1000, "caller hung up");
  }

  closed(event) {
    if (this.ended) return;
    if (!this.startedAt) {
      this.finish("Could not connect to the assistant", 0);
      return;
    }
    const why = event.code === 1000 || event.code === 1005 ? "" : ` (${event.code})`;
    // The bot hung up: let what it said last finish playing.
    const remaining = this.context ? Math.max(0, this.playHead - this.context.currentTime) : 0;
    this.finish(`Call ended by the assistant${why}`, remaining);
  }

  finish(status, lingerSecs) {
    this.ended = true;
    clearInterval(this.markTimer);
    if (this.media) for (const track of this.media.getTracks()) track.stop();
    if (this.capture) this.capture.disconnect();
    const context = this.context;
    if (context) setTimeout(() => context.close(), lingerSecs * 1000 + 100);
    this.view.ended(status);
  }
}

// --- The page --------------------------------------------------------------------------------

class SoftphoneView {
  constructor(root) {
    this.root = root;
    this.callButton = root.querySelector("[data-testid=softphone-call]");
    this.statusLine = root.querySelector("[data-testid=softphone-status]");
    this.transcript = root.querySelector("[data-testid=softphone-transcript]");
    this.meter = root.querySelector("[data-testid=softphone-level]");
    this.keys = root.querySelectorAll("[data-digit]");
    this.turns = new Map();
    this.call = null;
    this.callButton.addEventListener("click", () => this.toggle());
    window.addEventListener("pagehide", () => this.call && this.call.hangUp());
    for (const key of this.keys) {
      key.addEventListener("click", () => this.call && this.call.dtmf(key.dataset.digit));
    }
    this.setKeys(false);
  }

  async toggle() {
    if (this.call && !this.call.ended) {
      this.call.hangUp();
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.call = new Call(`${scheme}://${location.host}/twilio/media`, this);
    this.turns.clear();
    this.transcript.replaceChildren();
    this.callButton.disabled = true;
    this.status("Calling…");
    try {
      await this.call.start();
    } catch (error) {
      this.call.finish(`Could not start the call: ${error.message || error}`, 0);
    }
  }

  status(text) {
    this.statusLine.textContent = text;
  }

  setKeys(enabled) {
    for (const key of this.keys) key.disabled = !enabled;
  }

  connected(call) {
    this.root.dataset.state = "in-call";
    this.callButton.disabled = false;
    this.callButton.textContent = "Hang up";
    this.callButton.classList.add("hang-up");
    this.setKeys(true);
    this.status("In call");
    this.statusLine.title = call.callSid;
  }

  ended(status) {
    this.root.dataset.state = "idle";
    this.callButton.disabled = false;
    this.callButton.textContent = "Call";
    this.callButton.classList.remove("hang-up");
    this.setKeys(false);
    this.level(0);
    this.status(status);
  }

  level(rms) {
    if (this.meter) this.meter.value = Math.min(1, rms * 4);
  }

  // One line per bot reply; its pieces are added as they start playing.
  botSaid(mark, heard) {
    let line = this.turns.get(mark.turn);
    if (!line) {
      line = document.createElement("li");
      line.className = "bot";
      line.dataset.testid = "softphone-bot-line";
      line.dataset.turn = String(mark.turn);
      this.turns.set(mark.turn, line);
      this.transcript.append(line);
    }
    if (mark.piece === null) {
      line.classList.add("done");
    } else if (heard) {
      line.textContent = line.textContent ? `${line.textContent} ${mark.text}` : mark.text;
      line.scrollIntoView({ block: "nearest" });
    } else {
      line.classList.add("cut");
    }
  }

  cleared() {
    for (const line of this.turns.values()) {
      if (!line.classList.contains("done")) line.classList.add("cut");
    }
  }
}

window.Softphone = { ulawEncodeSample, ulawDecodeSample, Downsampler, parseMark, Call };

document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector("[data-testid=softphone]");
  if (root) window.softphone = new SoftphoneView(root);
});
