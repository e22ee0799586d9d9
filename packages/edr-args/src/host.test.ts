import { describe, expect, it } from "vitest";
import { IssueList } from "./errors.js";
import { formatBaseUrl, readHost, resolvePort } from "./host.js";

/** The base URL `host` ends up as, with the port rule applied. */
function urlOf(host: string, portOverride?: number): string {
  const issues = new IssueList();
  const parts = readHost("host", host, issues);
  if (parts === undefined) throw new Error(issues.list()[0]?.message);
  return formatBaseUrl(parts, resolvePort(parts, portOverride));
}

function hostProblem(host: string): string | undefined {
  const issues = new IssueList();
  readHost("host", host, issues);
  return issues.list()[0]?.message;
}

describe("host", () => {
  it("reads the seed's forms", () => {
    expect(urlOf("http://127.0.0.1")).toBe("http://127.0.0.1:8181");
    expect(urlOf("12.4.0.1")).toBe("http://12.4.0.1:8181");
    expect(urlOf("https://12.4.0.1")).toBe("https://12.4.0.1:443");
    expect(urlOf("https://12.4.0.1:8181")).toBe("https://12.4.0.1:8181");
  });

  it("reads IPv6 in brackets, with or without scheme and port, and bare", () => {
    expect(urlOf("[::1]")).toBe("http://[::1]:8181");
    expect(urlOf("https://[::1]:9999")).toBe("https://[::1]:9999");
    expect(urlOf("[2001:DB8:0:0::1]:8086")).toBe("http://[2001:db8::1]:8086");
    expect(urlOf("::1")).toBe("http://[::1]:8181");
    expect(urlOf("2001:db8::7")).toBe("http://[2001:db8::7]:8181");
  });

  it("removes surrounding quotes and whitespace, as the seed does", () => {
    expect(urlOf(`"https://12.4.0.1:8181"`)).toBe("https://12.4.0.1:8181");
    expect(urlOf(`' 12.4.0.1 '`)).toBe("http://12.4.0.1:8181");
  });

  it("takes names, any case of scheme and host, and keeps a path prefix without its trailing slash", () => {
    expect(urlOf("HTTPS://Influx.Example.COM")).toBe("https://influx.example.com:443");
    expect(urlOf("localhost:8086")).toBe("http://localhost:8086");
    expect(urlOf("https://proxy.example/influx/")).toBe("https://proxy.example:443/influx");
    expect(urlOf("https://proxy.example:8443/a/b")).toBe("https://proxy.example:8443/a/b");
    expect(urlOf("http://bücher.example")).toBe("http://xn--bcher-kva.example:8181");
  });

  describe("the port rule", () => {
    it("an explicit port in host wins over port_override", () => {
      expect(urlOf("https://12.4.0.1:8181", 9000)).toBe("https://12.4.0.1:8181");
      expect(urlOf("[::1]:1", 9000)).toBe("http://[::1]:1");
    });
    it("then port_override", () => {
      expect(urlOf("https://12.4.0.1", 9000)).toBe("https://12.4.0.1:9000");
      expect(urlOf("12.4.0.1", 80)).toBe("http://12.4.0.1:80");
    });
    it("then 443 for https and 8181 for http", () => {
      expect(urlOf("https://example.com")).toBe("https://example.com:443");
      expect(urlOf("http://example.com")).toBe("http://example.com:8181");
      expect(urlOf("example.com")).toBe("http://example.com:8181");
    });
  });

  it("refuses what is not a host, saying what was expected", () => {
    const bad = [
      "",
      "ftp://12.4.0.1",
      "http://",
      "12.4.0",
      "12.4.0.256",
      "0x7f.1",
      "http://12.4.0.1:0",
      "http://12.4.0.1:65536",
      "http://12.4.0.1:",
      "http://12.4.0.1:80a",
      "[::1",
      "[::1]x",
      "[zz::1]",
      "fe80::1%eth0",
      "a b.example",
      "http://12.4.0.1/?db=x",
      "http://12.4.0.1#top",
    ];
    expect(bad.map((host) => `${host} -> ${hostProblem(host) ?? "accepted"}`)).toMatchInlineSnapshot(`
      [
        " -> host: expected a host (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got """,
        "ftp://12.4.0.1 -> host: expected the scheme http:// or https:// (or none, for http), got "ftp://12.4.0.1"",
        "http:// -> host: expected a valid host name, IPv4 address or [IPv6] address (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got "http://"",
        "12.4.0 -> host: expected a valid host name, IPv4 address or [IPv6] address (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got "12.4.0"",
        "12.4.0.256 -> host: expected a valid host name, IPv4 address or [IPv6] address (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got "12.4.0.256"",
        "0x7f.1 -> host: expected a valid host name, IPv4 address or [IPv6] address (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got "0x7f.1"",
        "http://12.4.0.1:0 -> host: expected a port from 1 to 65535 after the host, got "http://12.4.0.1:0"",
        "http://12.4.0.1:65536 -> host: expected a port from 1 to 65535 after the host, got "http://12.4.0.1:65536"",
        "http://12.4.0.1: -> host: expected a port from 1 to 65535 after the host, got "http://12.4.0.1:"",
        "http://12.4.0.1:80a -> host: expected a port from 1 to 65535 after the host, got "http://12.4.0.1:80a"",
        "[::1 -> host: expected a host name or address with an optional :port (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got "[::1"",
        "[::1]x -> host: expected a host name or address with an optional :port (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got "[::1]x"",
        "[zz::1] -> host: expected a valid host name, IPv4 address or [IPv6] address (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got "[zz::1]"",
        "fe80::1%eth0 -> host: expected a valid host name, IPv4 address or [IPv6] address (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got "fe80::1%eth0"",
        "a b.example -> host: expected a valid host name, IPv4 address or [IPv6] address (http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]), got "a b.example"",
        "http://12.4.0.1/?db=x -> host: expected a host without ?query or #fragment, got "http://12.4.0.1/?db=x"",
        "http://12.4.0.1#top -> host: expected a host without ?query or #fragment, got "http://12.4.0.1#top"",
      ]
    `);
  });

  it("refuses user:password@ without echoing it", () => {
    const message = hostProblem("https://admin:hunter2@12.4.0.1");
    expect(message).not.toContain("hunter2");
    expect(message).toMatchInlineSnapshot(`"host: must not hold a user or password (use token)"`);
  });
});
