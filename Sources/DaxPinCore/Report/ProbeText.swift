/// virt-host-validate-style lines for people: `  PROBE: Checking <id> (<what>) : PASS`, the
/// verdict coloured only on a terminal, and a hint naming the fix under anything that did not pass.
public enum ProbeText {
  /// - Parameter label: the id to print instead of the probe's own (a group: `io_uring.fsdax-*`).
  public static func line(_ r: ProbeResult, color: Bool, count: Int = 1, label idLabel: String? = nil) -> String {
    let what: String
    switch r.outcome {
    case .pinned: what = r.frames.map { $0.placement == .migrated ? "pinned after migration" : "pinned in place" } ?? "pinned"
    case .refused: what = "refused \(r.errnoName ?? "")"
    default: what = r.outcome.rawValue
    }
    let id = idLabel ?? r.id
    let subject = count > 1 ? "\(id) (\(count) probes, \(what))" : "\(id) (\(what))"
    var label = r.unsafe ? "FAIL UNSAFE" : r.verdict.rawValue.uppercased()
    if color {
      let code =
        switch r.verdict {
        case .pass: "32"
        case .fail: "31;1"
        case .error: "35"
        case .skip: "33"
        }
      label = "\u{1B}[\(code)m\(label)\u{1B}[0m"
    }
    var out = "\(r.interface.rawValue.leftPad(14)): Checking \(subject.padding(to: 58)) : \(label)"
    if r.memory.kind == .devdaxKmem, let f = r.frames { out += "\n\(String(repeating: " ", count: 16))frames: \(f.summary)" }
    if r.verdict != .pass {
      if let reason = r.reason { out += "\n\(String(repeating: " ", count: 16))\(reason)" }
      if let hint = r.hint { out += "\n\(String(repeating: " ", count: 16))hint: \(hint)" }
    }
    return out
  }

  public static func render(_ report: Report, quiet: Bool, color: Bool) -> String {
    var lines: [String] = []
    if report.isSimulated {
      lines.append("SIMULATED: fake backend (\(report.kernel.configSource)), not a real kernel's answer")
    }
    // Skips that share an interface and a reason (an absent interface, an absent memory kind)
    // collapse into one line: `io_uring: Checking io_uring.devdax.* (2 probes, unsupported)`.
    var i = 0
    let probes = report.probes
    while i < probes.count {
      let r = probes[i]
      var j = i + 1
      if r.verdict == .skip {
        while j < probes.count, probes[j].verdict == .skip, probes[j].interface == r.interface,
          probes[j].reason == r.reason, probes[j].outcome == r.outcome
        {
          j += 1
        }
      }
      if j - i > 1 {
        let group = probes[i..<j]
        let label = "\(r.interface.rawValue).\(commonPrefix(group.map(\.memory.kind.rawValue)))*"
        lines.append(line(r, color: color, count: j - i, label: label))
      } else if !(quiet && r.verdict == .pass) {
        lines.append(line(r, color: color))
      }
      i = j
    }
    let s = report.summary
    lines.append(
      "daxpin: \(s.pass) pass, \(s.fail) fail\(s.unsafe > 0 ? " (\(s.unsafe) UNSAFE)" : ""), \(s.skip) skip, \(s.error) error on \(report.kernel.release)")
    return lines.joined(separator: "\n") + "\n"
  }
}

extension String {
  func leftPad(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}

/// `fsdax-ext4-shared`, `fsdax-ext4-private` → `fsdax-ext4-`; unrelated names → "".
func commonPrefix(_ names: [String]) -> String {
  guard var prefix = names.first else { return "" }
  for n in names.dropFirst() { while !n.hasPrefix(prefix) { prefix.removeLast() } }
  if names.count > 1 && Set(names).count == 1 { return prefix + "." }
  if let dash = prefix.lastIndex(of: "-"), prefix != names.first { return String(prefix[...dash]) }
  return prefix == names.first ? prefix + "." : ""
}
