/// Reports as KTAP version 1 (Documentation/dev-tools/ktap.rst), the kernel's test output
/// format: one result line per probe, named by its probe id.
///
/// ```
/// KTAP version 1
/// 1..156
/// ok 1 vfio-type1.anon.rw
/// # vfio-type1.fsdax-ext4-shared.rw: UNSAFE: the kernel pinned filesystem-DAX pages …
/// not ok 5 vfio-type1.fsdax-ext4-shared.rw
/// ok 9 iommufd.anon.rw # SKIP no /dev/iommu (CONFIG_IOMMUFD)
/// not ok 12 io_uring.hugetlb-2m.rw # ERROR cannot map …
/// # Totals: pass:28 fail:24 xfail:0 xpass:0 skip:104 error:0
/// ```
///
/// `pass` is `ok`; `fail` is `not ok` after diagnostic lines with the reason and the hint;
/// `skip` is `ok … # SKIP reason`; `error` is `not ok … # ERROR reason`. Several reports are
/// nested: one subtest per report (indented two spaces), its result line named by the kernel
/// and host. Text from a report is one line without `#` in a test name.
public enum KTAP {
  public static func render(_ reports: [Report]) -> String {
    var lines = ["KTAP version 1"]
    if reports.count == 1 {
      lines += body(reports[0], indent: "")
    } else {
      lines.append("1..\(reports.count)")
      for (i, report) in reports.enumerated() {
        lines.append("  KTAP version 1")
        lines += body(report, indent: "  ")
        let name = description(suiteName(report))
        switch exitCode(report.probes) {
        case 0: lines.append("ok \(i + 1) \(name)")
        case 4: lines.append("ok \(i + 1) \(name) # SKIP nothing could be exercised")
        default: lines.append("not ok \(i + 1) \(name)")
        }
      }
      lines.append(totals(reports.flatMap(\.probes)))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The plan, the report's identity as diagnostics, one result per probe, the totals.
  static func body(_ report: Report, indent: String) -> [String] {
    var lines = ["1..\(report.probes.count)", "# daxpin \(diagnostic(report.tool.version)): \(diagnostic(suiteName(report)))"]
    if report.isSimulated {
      lines.append("# SIMULATED: fake backend (\(diagnostic(report.kernel.configSource))), not a real kernel's answer")
    }
    for (i, p) in report.probes.enumerated() {
      let n = i + 1
      let reason = p.reason ?? (p.outcome == .refused ? "refused with \(p.errnoName ?? "?")" : p.outcome.rawValue)
      switch p.verdict {
      case .pass:
        lines.append("ok \(n) \(p.id)")
      case .skip:
        lines.append("ok \(n) \(p.id) # SKIP \(diagnostic(reason))")
      case .fail:
        lines.append("# \(p.id): \(diagnostic(reason))")
        if let hint = p.hint { lines.append("# \(p.id): hint: \(diagnostic(hint))") }
        lines.append("not ok \(n) \(p.id)")
      case .error:
        if let hint = p.hint { lines.append("# \(p.id): hint: \(diagnostic(hint))") }
        lines.append("not ok \(n) \(p.id) # ERROR \(diagnostic(reason))")
      }
    }
    lines.append(totals(report.probes))
    return lines.map { indent + $0 }
  }

  /// kselftest's closing line.
  static func totals(_ probes: [ProbeResult]) -> String {
    let s = Report.summarize(probes)
    return "# Totals: pass:\(s.pass) fail:\(s.fail) xfail:0 xpass:0 skip:\(s.skip) error:\(s.error)"
  }

  static func suiteName(_ report: Report) -> String {
    var name = "\(report.kernel.release) on \(report.host.hostname ?? "unknown host")"
    if let lab = report.lab { name += " (lab \(lab.kernel), \(lab.pmem))" }
    return report.isSimulated ? "SIMULATED " + name : name
  }

  /// Diagnostic text: one line.
  static func diagnostic(_ s: String) -> String { s.withVisibleControls }

  /// A test description: one line and no `#` (which would start a directive).
  static func description(_ s: String) -> String {
    String(String.UnicodeScalarView(s.withVisibleControls.unicodeScalars.map { $0 == "#" ? "\u{FF03}" : $0 }))
  }

  /// kselftest's exit codes (tools/testing/selftests/kselftest.h): 0 pass (skips allowed),
  /// 1 a probe failed or could not be run (fail or error), 4 nothing could be exercised (all
  /// skipped, or no probes).
  public static func exitCode(_ probes: [ProbeResult]) -> Int32 {
    let s = Report.summarize(probes)
    return s.fail + s.error > 0 ? 1 : s.pass == 0 ? 4 : 0
  }
}
