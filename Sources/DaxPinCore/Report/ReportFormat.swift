/// The forms a report can be printed in (`--format`): `text` (one line per probe, for people),
/// `json` (the `daxpin/report` document), `junit` (JUnit XML, for CI) and `ktap` (KTAP version 1,
/// as the kernel's selftests print).
public enum ReportFormat: String, CaseIterable, Sendable {
  case text, json, junit, ktap

  /// The report in this form.
  public func render(_ report: Report, quiet: Bool = false, color: Bool = false) throws -> String {
    switch self {
    case .text: ProbeText.render(report, quiet: quiet, color: color)
    case .json: try ReportJSON.encode(report)
    case .junit: JUnit.render([report])
    case .ktap: KTAP.render([report])
    }
  }

  /// The exit status for these reports: daxpin's (0 pass, 1 a probe failed, 2 an error cell,
  /// 4 nothing could be exercised; `Report.Summary.exitCode`), except for `ktap`, which uses
  /// kselftest's (0 pass, 1 fail or error, 4 skip; `KTAP.exitCode`).
  public func exitCode(_ reports: [Report]) -> Int32 {
    let probes = reports.flatMap(\.probes)
    return self == .ktap ? KTAP.exitCode(probes) : Report.summarize(probes).exitCode
  }
}
