/// `daxpin check` for people, virt-host-validate style like `ProbeText`: one line per region
/// (`  vfio-type1v2: Checking m0 (pagecache-shared, 64 MiB, /var/tmp/vm.ram) : will be refused
/// with EFAULT`), the verdict coloured only on a terminal; under a refusal the rule, the cause and
/// the fix; under any region what this host lacks and what the probe said.
public enum CheckText {
  static let indent = String(repeating: " ", count: 16)

  public static func render(_ report: CheckReport, color: Bool) -> String {
    var lines: [String] = []
    if report.isSimulated { lines.append("SIMULATED: fake backend, not a real kernel's answer") }
    let what = report.source == .libvirt ? "libvirt domain" : "\(report.source.rawValue) command line"
    var header = "daxpin check: \(what)\(report.name.map { " \($0)" } ?? "") on \(report.kernel): "
    if report.devices.isEmpty {
      header += "no device passed through"
    } else {
      header += "passes through " + report.devices.map { d in
        "\(d.device.address) (\(d.interface.rawValue)\(d.device.mdev ? ", mdev" : "")\(d.onThisHost.map { ", \($0)" } ?? ""))"
      }.joined(separator: ", ")
    }
    lines.append(header)
    for note in report.notes { lines.append("  note: \(note)") }
    for e in report.regions { lines.append(line(e, color: color)) }
    let s = report.summary
    lines.append(
      "daxpin: \(s.pinned) will pin, \(s.refused) will be refused\(s.unknown > 0 ? ", \(s.unknown) cannot be predicted" : "")\(s.contradicted > 0 ? ", \(s.contradicted) probe\(s.contradicted == 1 ? "" : "s") contradicted the rule table" : "") on \(report.kernel)\(report.hypothetical ? " (as if a device were passed through)" : "")")
    return lines.joined(separator: "\n") + "\n"
  }

  public static func line(_ e: CheckedRegion, color: Bool) -> String {
    let r = e.region
    let kind = e.classification.kind?.rawValue ?? "unclassified"
    let subject = "\(r.id) (\(kind), \(ByteSize.describe(r.size))\(r.path.map { ", \(RawPath.display($0))" } ?? ""))"
    let p = e.prediction
    var verdict: String
    let code: String
    switch p.outcome {
    case .pinned: (verdict, code) = ("will pin (\(p.rule))", "32")
    case .refused: (verdict, code) = ("will be refused with \(p.errno?.name ?? "?")", "31;1")
    case .unknown: (verdict, code) = ("cannot be predicted", "35")
    }
    if !e.dmaMapped { verdict = "not DMA-mapped" }
    if color { verdict = "\u{1B}[\(code)m\(verdict)\u{1B}[0m" }
    var out = ["\(e.interface.rawValue.leftPad(14)): Checking \(subject.padding(to: 58)) : \(verdict)"]
    if !e.dmaMapped {
      out.append(indent + "if it were: " + (p.outcome == .pinned ? "it would pin" : p.outcome == .refused ? "it would be refused with \(p.errno?.name ?? "?")" : "no prediction"))
    }
    if p.outcome != .pinned {
      out.append(indent + "rule \(p.rule): \(p.basis)")
      if let cause = p.cause { out.append(indent + "cause: \(cause.rawValue)") }
      if let fix = p.fix { out.append(indent + "fix: \(fix)") }
      out.append(indent + "seen as: \(e.classification.evidence)")
    }
    if let missing = e.classification.missing { out.append(indent + "missing: \(missing)") }
    if p.outcome != .pinned {
      for note in r.notes + e.classification.notes { out.append(indent + note) }
    }
    if let probe = e.probe { out.append(indent + "probe: \(probe.note)") }
    return out.joined(separator: "\n")
  }
}
