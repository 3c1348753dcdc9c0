// A WebSocket to one of the server's streams that reconnects by itself (back-off from
// 0.5 s to 10 s) and tells its state, so the wallboard can show when it is disconnected.
// The token goes in a subprotocol next to citybrain.v1 (browsers cannot set headers).
import { currentToken, sessionEnded } from "./api";

export type LinkState = "connecting" | "open" | "closed";

export class LiveStream {
  private ws: WebSocket | null = null;
  private delay = 500;
  private stopped = false;
  private timer: number | undefined;
  state: LinkState = "connecting";

  constructor(
    private path: string,
    private onMessage: (msg: any) => void,
    private onState: (s: LinkState) => void = () => {},
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close();
    this.ws = null;
  }

  private setState(s: LinkState): void {
    if (this.state === s) return;
    this.state = s;
    this.onState(s);
  }

  private connect(): void {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const protocols = ["citybrain.v1"];
    const tok = currentToken();
    if (tok) protocols.push(`citybrain.key.${tok}`);
    this.setState("connecting");
    const ws = new WebSocket(`${proto}//${location.host}${this.path}`, protocols);
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 500;
      this.setState("open");
    };
    ws.onmessage = (ev) => {
      let msg: any;
      try {
        msg = JSON.parse(ev.data as string);
      } catch {
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState("closed");
      if (this.stopped) return;
      // 1008: the server closed it because the session was signed out or expired (it
      // checks open sockets again every few seconds): reconnecting would only be refused.
      if (ev.code === 1008) {
        this.stopped = true;
        sessionEnded();
        return;
      }
      this.timer = window.setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10_000);
    };
    ws.onerror = () => ws.close();
  }
}
