/// Explains error lines: recognises each, reads what it says, and ranks the causes against a
/// kernel version. Pure: no file, no syscall; the version is an input so any kernel can be judged.
public struct Explainer: Sendable {
  /// The kernel the lines are judged against (`major.minor`); nil when unknown, and then no rule
  /// is dropped for its version and `applies_here` is omitted.
  public var kernel: KernelVersion?

  public init(kernel: KernelVersion?) { self.kernel = kernel }

  public func explain(_ line: ExplainInput.Line) -> ExplainedLine {
    explainIfRecognised(line) ?? ExplainedLine(unrecognised: line)
  }

  /// The explanation of a recognised line; nil, cheaply, for any other.
  public func explainIfRecognised(_ line: ExplainInput.Line) -> ExplainedLine? {
    let scanned = ScannedLine(line.bytes)
    guard let r = Recogniser.recognise(scanned) else { return nil }
    var out = ExplainedLine(unrecognised: line)
    let evidence = LineEvidence(scanned)
    let (causes, distinguish) = Ranker(kernel: kernel).rank(r, evidence)
    out.recognised = true
    out.source = r.recogniser
    out.errno = r.errno?.rawValue
    out.errnoName = r.errno?.name
    out.impliedErrnoName = r.errno == nil ? r.implied?.name : nil
    out.region = evidence.region
    out.memory = evidence.memory
    out.memoryEvidence = evidence.memoryEvidence
    out.causes = causes
    out.distinguish = distinguish
    return out
  }

  /// One line given as text (a test's, an argument's).
  public func explain(_ text: String) -> ExplainedLine {
    let bytes = Array(text.utf8)
    let kept = Array(bytes.prefix(ExplainLimits.lineBytes))
    return explain(ExplainInput.Line(input: "argument 1", number: 1, bytes: kept, truncated: bytes.count > kept.count))
  }

  public func explain(_ lines: [ExplainInput.Line]) -> [ExplainedLine] { lines.map(explain) }
}

/// Explains input as it is read, line by line, and keeps what the report shows: every recognised
/// line, unrecognised ones only when asked (`--all`), and counts of all. A 64 MiB journal of
/// mostly other messages costs its recognised lines, not a copy of itself.
public struct ExplainSession: Sendable {
  public let explainer: Explainer
  public let keepUnrecognised: Bool
  public private(set) var lines: [ExplainedLine] = []
  public private(set) var count = 0
  public private(set) var recognised = 0
  public private(set) var notRecognised: [String] = []
  /// The kept line each explanation first appeared on, by what the explanation rests on.
  private var firstByKey: [String: Int] = [:]
  /// How many later lines explained the same way a report names (the rest are counted).
  public static let namedRepeats = 10

  public init(explainer: Explainer, keepUnrecognised: Bool) {
    self.explainer = explainer
    self.keepUnrecognised = keepUnrecognised
  }

  /// Every line of `bytes` (a file or standard input as read).
  public mutating func add(_ bytes: [UInt8], input: String) {
    ExplainInput.forEachLine(bytes, input: input) { add($0) }
  }

  /// The lines of one argument.
  public mutating func add(argument: String, index: Int) {
    add(Array(argument.utf8), input: "argument \(index)")
  }

  public mutating func add(_ line: ExplainInput.Line) {
    if let e = explainer.explainIfRecognised(line) {
      add(e)
    } else {
      count += 1
      if notRecognised.count < ExplainReport.Summary.named { notRecognised.append(line.location) }
      if keepUnrecognised { lines.append(ExplainedLine(unrecognised: line)) }
    }
  }

  mutating func add(_ e: ExplainedLine) {
    count += 1
    if e.recognised {
      recognised += 1
      // A line explained exactly as an earlier one (same recogniser, errno, region, memory and
      // the same ranked causes) is counted on that one: a 60 MB journal of one error repeated
      // is one explanation and a count, not 600 MB of the same text.
      let key = [
        e.source?.rawValue, e.errno.map(String.init), e.impliedErrnoName, e.region, e.memory?.rawValue, e.memoryEvidence,
      ].map { $0 ?? "-" }.joined(separator: "\u{0}")
      if let i = firstByKey[key], lines[i].causes == e.causes, lines[i].distinguish == e.distinguish {
        lines[i].sameCount = (lines[i].sameCount ?? 0) + 1
        if (lines[i].sameAt?.count ?? 0) < Self.namedRepeats { lines[i].sameAt = (lines[i].sameAt ?? []) + [e.location] }
        return
      }
      firstByKey[key] = lines.count
      lines.append(e)
    } else {
      if notRecognised.count < ExplainReport.Summary.named { notRecognised.append(e.location) }
      if keepUnrecognised { lines.append(e) }
    }
  }

  public func report(kernel: ExplainReport.Kernel) -> ExplainReport {
    ExplainReport(
      kernel: kernel, lines: lines,
      summary: .init(lines: count, recognised: recognised, notRecognised: notRecognised, exitCode: recognised > 0 ? 0 : 4))
  }
}
