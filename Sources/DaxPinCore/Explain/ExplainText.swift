/// `daxpin explain`'s text: one block per recognised line (where it came from and the line, what
/// it says, the causes ranked with rule, kernels, fix and command, then how to tell them apart),
/// and a last line that counts what was explained and names the lines that were not recognised.
public enum ExplainText {
  /// A line as shown: one line, at most 400 bytes, control characters visible.
  static func shown(_ line: String) -> String { line.capped(toBytes: 400).withVisibleControls }

  public static func block(_ l: ExplainedLine) -> String {
    var out = ["\(l.location): \(shown(l.line))\(l.truncated == true ? " (cut at 64 KiB)" : "")"]
    guard l.recognised, let source = l.source else {
      out.append("  not recognised")
      return out.joined(separator: "\n")
    }
    var says = "  \(source.label)"
    says += l.errnoName.map { ": \($0)" } ?? l.impliedErrnoName.map { ": \($0) (the message's words)" } ?? ": no errno in the line"
    if let region = l.region { says += ", region \(region.capped(toBytes: 100).withVisibleControls)" }
    let because = l.memoryEvidence.map { ": \($0)" } ?? ""
    switch l.memory {
    case .guestRAM?: says += " (guest RAM\(because))"
    case .mmio?: says += " (device memory\(because))"
    case .mmioGuess?: says += " (perhaps a BAR\(because))"
    case nil: break
    }
    out.append(says)
    for (i, c) in l.causes.enumerated() {
      var head = "  \(i + 1). \(c.cause.rawValue) (\(c.confidence.rawValue))"
      if let e = c.errnoName { head += " \(e)" }
      if let o = c.origin { head += " [\(o)]" }
      switch c.appliesHere {
      case true?: head += ", applies to this kernel"
      case false?: head += ", does not apply to this kernel (\(c.kernels ?? "other kernels"))"
      case nil: if let k = c.kernels { head += ", holds on \(k)" }
      }
      out.append(head)
      out.append("     \(c.rule)")
      out.append("     fix: \(c.fix)")
      if let command = c.command { out.append("     see: \(command)") }
    }
    for sentence in l.distinguish { out.append("  tell apart: \(sentence)") }
    if let n = l.sameCount, n > 0 {
      let named = l.sameAt ?? []
      let more = n - named.count
      out.append(
        "  explained the same: \(n) more \(n == 1 ? "line" : "lines"), \(named.joined(separator: ", "))\(more > 0 ? " and \(more) more" : "")")
    }
    return out.joined(separator: "\n")
  }

  /// The whole answer: a block per line the report holds (unrecognised ones only when they were
  /// kept, `all`), then the count, naming the first lines that were not recognised otherwise.
  public static func render(_ report: ExplainReport, all: Bool) -> String {
    var out = ""
    render(report, all: all) { out += $0 }
    return out
  }

  /// The same text in pieces, in order, to `emit`: a long log's answer never has to be one string.
  public static func render(_ report: ExplainReport, all: Bool, emit: (String) throws -> Void) rethrows {
    var first = true
    for l in report.lines where l.recognised || all {
      try emit((first ? "" : "\n\n") + block(l))
      first = false
    }
    let s = report.summary
    let kernel = "kernel \(report.kernel.release.capped(toBytes: 100).withVisibleControls)\(report.kernel.from == "option" ? " (--kernel)" : "")"
    var last: String
    if s.lines == 0 {
      last = "no lines to explain"
    } else if s.recognised == 0 {
      last = "no line recognised (\(s.lines) \(s.lines == 1 ? "line" : "lines") read)"
    } else {
      last = "explained \(s.recognised) of \(s.lines) \(s.lines == 1 ? "line" : "lines") against \(kernel)"
    }
    if s.unrecognised > 0 && s.recognised > 0 && !all {
      let more = s.unrecognised - s.notRecognised.count
      last += "; not recognised: \(s.notRecognised.joined(separator: ", "))\(more > 0 ? " and \(more) more (--all shows them)" : "")"
    }
    try emit((first ? "" : "\n\n") + last + "\n")
  }
}
