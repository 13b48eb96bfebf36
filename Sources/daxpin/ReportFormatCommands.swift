import ArgumentParser
import DaxPinCore
import DaxPinLinux

extension ReportFormat: ExpressibleByArgument {}

extension ReportCommand {
  /// `daxpin report html -o FILE REPORT...`: one self-contained page.
  struct HTMLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "html",
      abstract: "Merge reports into one self-contained HTML page (no network, no other files).",
      discussion: """
        The page shows the hosts and kernels, one table per interface (rows kernels × pmem mode,
        columns memory kinds, cells rw above ro) coloured by verdict, every UNSAFE cell in a banner
        and in red, filters by interface, kind and verdict, and each cell's details on click. With
        exactly two kernels it also lists what changed (as `report diff`). Reports merge as in
        `report matrix`: simulated and real never mix. Exit 0 written, 2 trouble.

        Example:
          daxpin report html -o matrix.html lab-out/*.json
        """)

    @Option(name: [.short, .long], help: ArgumentHelp("Write the page to FILE, atomically (- for standard output).", valueName: "FILE"))
    var output: String

    @Argument(help: ArgumentHelp("daxpin/report JSON files (- for standard input), as for `report matrix`.", valueName: "REPORT"))
    var files: [String]

    func run() throws {
      let input = ReportFiles(command: "report html")
      if let same = OutputFile.input(files, sameAs: output) {
        throw input.failure("-o \(output.withVisibleControls) is \(same == output ? "one of the reports read" : "the report \(same.withVisibleControls)"); write the page to another file")
      }
      let merge = try input.merge(files, details: true).merge
      let matrix: Matrix
      do { matrix = try Matrix(entries: merge.entries) } catch { throw input.failure("\(error)") }
      guard !matrix.entries.isEmpty else { throw input.failure("no report has a probe: no page written") }
      let page = HTMLPage.render(matrix, generator: "daxpin \(DaxpinVersion.string)")
      if output == "-" {
        try Stdout.write(page)
        return
      }
      // The same writer as --output: never renames over a device, FIFO or foreign symlink.
      do { try OutputFile.write(page, to: output) } catch { throw Exit.toolFailure("report html: \(error)") }
    }
  }

  /// `daxpin report diff OLD NEW`: what the kernel upgrade changed.
  struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "diff",
      abstract: "List the cells whose outcome or errno differ between two reports.",
      discussion: """
        One line per changed cell, in probe-id order, e.g.
          vfio-type1v2.pagecache-shared.rw: pinned → refused EFAULT
        with the verdicts when they changed too ([pass → fail UNSAFE]); a probe only one report
        has is `absent` on the other side. A simulated report is never compared with a real one.
        Exit status, as diff(1): 0 no cell changed, 1 some changed, 2 trouble.

        Example:
          daxpin report diff lab-out/debian-6.1-memmap.json lab-out/debian-6.12-memmap.json
        """)

    @Flag(help: "Print the changes as one JSON object (schema daxpin/diff).")
    var json = false

    @Argument(help: ArgumentHelp("The report from before (- for standard input).", valueName: "OLD"))
    var old: String

    @Argument(help: ArgumentHelp("The report from after.", valueName: "NEW"))
    var new: String

    func run() throws {
      let input = ReportFiles(command: "report diff")
      // Standard input can be read once: `- -` would compare a report with an empty second read.
      if old == "-" && new == "-" { throw input.failure("standard input (-) given as both OLD and NEW; give at least one as a file") }
      let (a, b) = (try input.load(old), try input.load(new))
      let diff: ReportDiff
      do {
        diff = try ReportDiff(old: Matrix.Entry(a), new: Matrix.Entry(b))
      } catch {
        let (x, y) = a.isSimulated ? ("simulated (fake backend)", "real") : ("real", "simulated (fake backend)")
        throw input.failure("\(old.withVisibleControls) is \(x) but \(new.withVisibleControls) is \(y): cannot compare them")
      }
      try Stdout.write(json ? try ReportJSON.encode(diff) : diff.text())
      if diff.changed { throw ExitCode(1) }
    }
  }

  /// `daxpin report junit REPORT...`.
  struct JUnitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "junit",
      abstract: "Print saved reports as JUnit XML (one testsuite per report, one testcase per probe).",
      discussion: """
        classname is the interface, name the probe id; a fail is <failure type="UNSAFE"> or
        <failure type="contradicts-expectation">, a skip <skipped>, an error <error>, each with the
        reason as its message. Reports merge as in `report matrix`. Exit status as `daxpin probe`
        over all the reports: 0 pass, 1 a probe failed, 2 an error cell, 4 nothing exercised.
        """)

    @Argument(help: ArgumentHelp("daxpin/report JSON files (- for standard input).", valueName: "REPORT"))
    var files: [String]

    func run() throws { try convert(files, to: .junit, command: "report junit") }
  }

  /// `daxpin report ktap REPORT...`.
  struct KTAPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "ktap",
      abstract: "Print saved reports as KTAP version 1 (one result line per probe).",
      discussion: """
        One report is one KTAP document; several are nested, one subtest per report. Exit
        status as kselftest's: 0 pass (skips allowed), 1 a probe failed or errored, 4 all skipped.
        """)

    @Argument(help: ArgumentHelp("daxpin/report JSON files (- for standard input).", valueName: "REPORT"))
    var files: [String]

    func run() throws { try convert(files, to: .ktap, command: "report ktap") }
  }

  /// Reads, merges (as the matrix does) and prints reports in `format`; exits with its code.
  static func convert(_ files: [String], to format: ReportFormat, command: String) throws {
    let reports = try ReportFiles(command: command).merge(files, keepReports: true).reports
    try Stdout.write(format == .junit ? JUnit.render(reports) : KTAP.render(reports))
    let code = format.exitCode(reports)
    if code != 0 { throw ExitCode(code) }
  }
}
