// The server's HTTP API as the wallboard uses it: the session token on every request,
// ProblemDetails errors turned into ApiError, and the sign-in routes.

export class ApiError extends Error {
  constructor(
    public status: number,
    public title: string,
    public detail: string,
    public body: unknown = null,
    public retryAfter: number | null = null,
  ) {
    super(detail || title || `HTTP ${status}`);
  }
}

export interface SessionUser {
  name: string;
  displayName: string;
  department: string | null;
  locale: string;
  permissions: string[];
}
export interface Session {
  token: string;
  expiresAt: string | null;
  user: SessionUser | null;
  permissions: string[];
  name: string;
}

const TOKEN_KEY = "cb.token";
let token: string | null = sessionStorage.getItem(TOKEN_KEY);
let onUnauthorized: () => void = () => {};

export function setToken(tok: string | null): void {
  token = tok;
  if (tok) sessionStorage.setItem(TOKEN_KEY, tok);
  else sessionStorage.removeItem(TOKEN_KEY);
}
export function currentToken(): string | null {
  return token;
}
export function whenUnauthorized(f: () => void): void {
  onUnauthorized = f;
}
// The server ended the session on its side (a live stream closed for policy, 1008).
export function sessionEnded(): void {
  if (token) onUnauthorized();
}

async function errorFrom(res: Response): Promise<ApiError> {
  let body: any = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  const ra = res.headers.get("Retry-After");
  return new ApiError(res.status, body?.title ?? res.statusText, body?.detail ?? "", body, ra ? Number(ra) : null);
}

export async function request<T = any>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers["Authorization"] = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body instanceof Blob) {
    payload = body;
    headers["Content-Type"] = body.type || "application/octet-stream";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(path, { method, headers, body: payload, ...init });
  if (res.status === 401 && token) onUnauthorized();
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get("Content-Type") ?? "";
  return (type.includes("json") ? await res.json() : await res.text()) as T;
}
export const get = <T = any>(path: string) => request<T>("GET", path);
export const post = <T = any>(path: string, body?: unknown) => request<T>("POST", path, body ?? {});

// Signs in with a user name and password; keeps the session token for this tab.
export async function signIn(user: string, password: string): Promise<Session> {
  const res = await fetch("/api/v1/session", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ user, password }),
  });
  if (!res.ok) throw await errorFrom(res);
  const s = await res.json();
  setToken(s.token);
  return { token: s.token, expiresAt: s.expiresAt, user: s.user, permissions: s.user.permissions, name: s.user.name };
}
// Who the kept token belongs to; null when there is none or it is no longer valid.
export async function currentSession(): Promise<Session | null> {
  if (!token) return null;
  try {
    const s = await request("GET", "/api/v1/session");
    return {
      token: token,
      expiresAt: s.expiresAt,
      user: s.user,
      permissions: s.permissions,
      name: s.user?.name ?? s.key?.name ?? "",
    };
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      setToken(null);
      return null;
    }
    throw e;
  }
}
export async function signOut(): Promise<void> {
  try {
    await request("DELETE", "/api/v1/session");
  } catch {
    /* an expired or plain API key: forgetting it is enough */
  }
  setToken(null);
}

// Whether the session grants `perm` (admin grants everything; cases:write includes
// cases:read and cases:report), mirroring the server's rule.
export function can(s: Session | null, perm: string): boolean {
  if (!s) return false;
  const p = s.permissions;
  if (p.includes("admin") || p.includes(perm)) return true;
  if ((perm === "cases:read" || perm === "cases:report") && p.includes("cases:write")) return true;
  return false;
}
