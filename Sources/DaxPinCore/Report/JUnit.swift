/// Reports as JUnit XML (the common dialect CI systems read: `testsuites` › `testsuite` ›
/// `testcase` with `skipped`, `failure` or `error`). One `testsuite` per report, one `testcase`
/// per probe: `classname` is the interface, `name` the probe id, `time` its duration.
///
/// - `fail` → `<failure message="REASON" type="UNSAFE|contradicts-expectation">`, the body
///   the expectation, its rule and the hint;
/// - `skip` → `<skipped message="REASON"/>`;
/// - `error` → `<error message="REASON" type="OUTCOME">`.
///
/// Everything a report says is escaped (`XMLText`), so a host name or reason cannot end an
/// attribute or add an element, and characters XML 1.0 forbids become visible symbols.
public enum JUnit {
  public static func render(_ reports: [Report]) -> String {
    let all = reports.flatMap(\.probes)
    let counts = Report.summarize(all)
    var out = [
      #"<?xml version="1.0" encoding="UTF-8"?>"#,
      "<testsuites name=\"daxpin\" tests=\"\(all.count)\" failures=\"\(counts.fail)\" errors=\"\(counts.error)\" skipped=\"\(counts.skip)\" time=\"\(seconds(all))\">",
    ]
    for report in reports { out += suite(report) }
    out.append("</testsuites>")
    return out.joined(separator: "\n") + "\n"
  }

  static func suite(_ report: Report) -> [String] {
    // Counted from the probes, not read from the report's summary: the counts always match the
    // testcases, whatever a saved report says.
    let s = Report.summarize(report.probes)
    let host = report.host.hostname ?? "unknown host"
    var name = "daxpin \(report.kernel.release) on \(host)"
    if let lab = report.lab { name += " (lab \(lab.kernel), \(lab.pmem))" }
    if report.isSimulated { name = "SIMULATED " + name }
    var out = [
      "  <testsuite name=\"\(XMLText.attribute(name))\" tests=\"\(report.probes.count)\" failures=\"\(s.fail)\" errors=\"\(s.error)\" skipped=\"\(s.skip)\" time=\"\(seconds(report.probes))\"\(report.host.hostname.map { " hostname=\"\(XMLText.attribute($0))\"" } ?? "")>",
      "    <properties>",
    ]
    var properties: [(String, String)] = [
      ("kernel.release", report.kernel.release), ("backend", report.backend.rawValue), ("simulated", report.isSimulated ? "true" : "false"),
      ("tool.version", report.tool.version), ("unsafe", "\(s.unsafe)"),
    ]
    if let arch = report.host.arch { properties.append(("host.arch", arch)) }
    if let lab = report.lab { properties += [("lab.kernel", lab.kernel), ("lab.pmem", lab.pmem), ("lab.accel", lab.accel)] }
    for (k, v) in properties {
      out.append("      <property name=\"\(k)\" value=\"\(XMLText.attribute(v))\"/>")
    }
    out.append("    </properties>")
    for p in report.probes { out += testcase(p) }
    out.append("  </testsuite>")
    return out
  }

  static func testcase(_ p: ProbeResult) -> [String] {
    let open = "    <testcase classname=\"\(p.interface.rawValue)\" name=\"\(p.id)\" time=\"\(seconds([p]))\""
    let what = p.outcome == .refused ? "refused with \(p.errnoName ?? "?")" : p.outcome.rawValue
    let message = p.reason ?? what
    switch p.verdict {
    case .pass:
      return [open + "/>"]
    case .skip:
      return [open + ">", "      <skipped message=\"\(XMLText.attribute(message))\"/>", "    </testcase>"]
    case .fail:
      let type = p.unsafe ? "UNSAFE" : "contradicts-expectation"
      return [
        open + ">", "      <failure message=\"\(XMLText.attribute(message))\" type=\"\(type)\">\(XMLText.content(body(p, observed: what)))</failure>",
        "    </testcase>",
      ]
    case .error:
      return [
        open + ">", "      <error message=\"\(XMLText.attribute(message))\" type=\"\(p.outcome.rawValue)\">\(XMLText.content(body(p, observed: what)))</error>",
        "    </testcase>",
      ]
    }
  }

  /// The failure's text: observed, expected and the rule, the request, the hint.
  static func body(_ p: ProbeResult, observed: String) -> String {
    var lines = ["observed: \(observed)"]
    if let e = p.expectation {
      lines.append("expected: \(e.outcome == .pinned ? "pinned" : "refused with \(e.errnoName ?? "?")") [rule \(e.origin): \(e.basis)]")
    }
    if let r = p.request { lines.append("request: \(r)") }
    if let h = p.hint { lines.append("hint: \(h)") }
    return lines.joined(separator: "\n")
  }

  /// The probes' total duration in seconds, `0.000100`.
  static func seconds(_ probes: [ProbeResult]) -> String {
    let us = probes.reduce(0) { $0 + max(0, $1.durationUs ?? 0) }
    let frac = String(us % 1_000_000)
    return "\(us / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)"
  }
}

/// Text made safe for XML 1.0 (also used by the HTML page): `&`, `<`, `>`, `"` and `'` become
/// entities; control characters become visible symbols (`withVisibleControls`), except tab and
/// newline in element content; U+FFFE and U+FFFF, which XML forbids, become U+FFFD.
public enum XMLText {
  /// For an attribute value in double or single quotes: one line, nothing can end it.
  public static func attribute(_ s: String) -> String { escape(s.withVisibleControls) }

  /// For element content: newlines and tabs kept.
  public static func content(_ s: String) -> String {
    let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
    return lines.map { line in
      line.split(separator: "\t", omittingEmptySubsequences: false).map { escape(String($0).withVisibleControls) }.joined(separator: "\t")
    }.joined(separator: "\n")
  }

  static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for scalar in s.unicodeScalars {
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      case "\u{FFFE}", "\u{FFFF}": out += "\u{FFFD}"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}
