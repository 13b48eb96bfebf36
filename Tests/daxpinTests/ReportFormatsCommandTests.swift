import DaxPinCore
import Foundation
import Testing

/// `daxpin probe --format junit|ktap` and `daxpin report junit|ktap`: JUnit XML validated against
/// an XSD of the common dialect (Fixtures/junit.xsd) with xmllint; KTAP parsed by `KTAPDocument`.
@Suite("JUnit and KTAP output, end to end")
struct ReportFormatsCommandTests {
  static let xsd = repositoryRoot.appendingPathComponent("Tests/daxpinTests/Fixtures/junit.xsd").path

  /// The fake report of `profile` as JSON, and decoded.
  static func fakeReport(_ profile: String, _ extra: [String] = []) throws -> Report {
    let r = try Run.daxpin(["probe", "--backend", "fake", "--profile", profile, "--json"] + extra)
    return try ReportJSON.decode(Report.self, from: r.stdout)
  }

  /// Validates `xml` against the XSD; returns xmllint's complaint, or nil when valid.
  static func xsdProblems(_ xml: String, in dir: String) throws -> String? {
    let path = dir + "/junit-\(UUID().uuidString).xml"
    try xml.write(toFile: path, atomically: false, encoding: .utf8)
    let r = try External.run(External.xmllint!, ["--noout", "--schema", xsd, path])
    return r.status == 0 ? nil : r.stderr
  }

  static func count(_ needle: String, in haystack: String) -> Int { haystack.components(separatedBy: needle).count - 1 }

  @Test(.enabled(if: External.xmllint != nil, "xmllint is not installed (scripts/setup.sh installs libxml2-utils)"))
  func probeJUnitIsValidAndOneTestcasePerProbe() throws {
    let files = try MatrixFiles()
    let report = try Self.fakeReport("linux-4.14")
    let r = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-4.14", "--format", "junit"])
    #expect(r.status == 1, "a FAIL: daxpin's exit code")
    #expect(try Self.xsdProblems(r.stdout, in: files.dir) == nil)
    #expect(r.stdout.hasPrefix(#"<?xml version="1.0" encoding="UTF-8"?>"#))
    #expect(Self.count("<testcase ", in: r.stdout) == report.probes.count)
    #expect(Self.count("<testsuite ", in: r.stdout) == 1)
    #expect(Self.count("<failure ", in: r.stdout) == report.summary.fail)
    #expect(Self.count("type=\"UNSAFE\"", in: r.stdout) == report.summary.unsafe)
    #expect(report.summary.unsafe == 20, "16 fsdax pins and 4 truncate-held cells")
    #expect(Self.count("<skipped ", in: r.stdout) == report.summary.skip)
    #expect(Self.count("<error ", in: r.stdout) == report.summary.error)
    for p in report.probes {
      #expect(r.stdout.contains("<testcase classname=\"\(p.interface.rawValue)\" name=\"\(p.id)\" "), "\(p.id)")
    }
    #expect(r.stdout.contains(#"<failure message="UNSAFE: the kernel pinned filesystem-DAX pages long-term; the filesystem may reuse those blocks under DMA (expected refused with EOPNOTSUPP)" type="UNSAFE">"#))
    #expect(r.stdout.contains(#"<skipped message="io_uring_setup: ENOSYS: this kernel has no io_uring"/>"#))
    #expect(r.stdout.contains(#"<property name="simulated" value="true"/>"#))
    let pass = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--format", "junit"])
    #expect(pass.status == 0)
    #expect(try Self.xsdProblems(pass.stdout, in: files.dir) == nil)
    #expect(!pass.stdout.contains("<failure"))
  }

  @Test func probeKTAPParsesWithOneResultPerProbeAndKselftestExitCodes() throws {
    let report = try Self.fakeReport("linux-4.14")
    let r = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-4.14", "--format", "ktap"])
    #expect(r.status == 1, "kselftest: 1 fail")
    let doc = try KTAPDocument.parse(r.stdout)
    #expect(doc.plan == report.probes.count)
    #expect(doc.results.map(\.name) == report.probes.map(\.id))
    for (result, p) in zip(doc.results, report.probes) {
      switch p.verdict {
      case .pass: #expect(result.ok && result.directive == nil, "\(p.id)")
      case .skip:
        #expect(result.ok && result.directive == "SKIP", "\(p.id)")
        #expect(result.diagnostic == p.reason, "\(p.id)")
      case .fail:
        #expect(!result.ok && result.directive == nil, "\(p.id)")
        #expect(result.notes.first == "\(p.id): \(p.reason ?? "")", "\(p.id)")
      case .error: #expect(!result.ok && result.directive == "ERROR", "\(p.id)")
      }
    }
    // 16 UNSAFE pins and 4 UNSAFE truncate-held cells on linux-4.14.
    #expect(doc.results.filter { $0.notes.first?.contains("UNSAFE") == true }.count == 20)
    #expect(doc.trailing == ["Totals: pass:82 fail:28 xfail:0 xpass:0 skip:170 error:0"])
    #expect(r.stdout.contains("\n# SIMULATED: fake backend (simulated: linux-4.14), not a real kernel's answer\n"))

    let pass = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--format", "ktap"])
    #expect(pass.status == 0)
    #expect(try KTAPDocument.parse(pass.stdout).results.allSatisfy(\.ok))
    // iommufd is absent from 6.1: every probe skipped is kselftest's 4.
    let skipped = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--interface", "iommufd", "--format", "ktap"])
    #expect(skipped.status == 4)
    let skips = try KTAPDocument.parse(skipped.stdout)
    #expect(skips.plan == MemoryKind.allCases.count * 2)
    #expect(skips.results.allSatisfy { $0.ok && $0.directive == "SKIP" })
  }

  @Test func jsonStillWorksAndIsTheSameAsFormatJSON() throws {
    let a = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--json"])
    let b = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--format", "json"])
    #expect(a.status == 0 && b.status == 0)
    // File paths differ (each run has its own private directory); the cells do not.
    func cells(_ r: Run) throws -> [String] {
      try ReportJSON.decode(Report.self, from: r.stdout).probes.map { "\($0.id) \($0.outcome) \($0.errnoName ?? "") \($0.verdict)" }
    }
    #expect(try cells(a) == cells(b))
    #expect(try cells(a).count == fullRunCells)
    let text = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--format", "text"])
    #expect(text.stdout.contains("daxpin: 136 pass, 0 fail, 144 skip, 0 error on 6.1.176-daxpin-fake"))
    let both = try Run.daxpin(["probe", "--backend", "fake", "--json", "--format", "ktap"])
    #expect(both.status == 64)
    #expect(both.stderr.contains("--json is --format json; it cannot go with --format ktap"))
    let agree = try Run.daxpin(["probe", "--backend", "fake", "--json", "--format", "json"])
    #expect(agree.status == 0)
    let inventory = try Run.daxpin(["inventory", "--format", "junit"])
    #expect(inventory.status == 64)
    #expect(inventory.stderr.contains("inventory prints text or json, not junit"))
    let inventoryJSON = try Run.daxpin(["inventory", "--format", "json"])
    #expect(inventoryJSON.status == 0)
    #expect(inventoryJSON.stdout.hasPrefix("{"))
  }

  @Test func outputFileStaysTheJSONReportWhateverTheFormat() throws {
    let files = try MatrixFiles()
    let path = files.dir + "/report.json"
    let r = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--format", "ktap", "--output", path])
    #expect(r.status == 0)
    #expect(r.stdout.hasPrefix("KTAP version 1\n"))
    let saved = try ReportJSON.decode(Report.self, from: String(contentsOfFile: path, encoding: .utf8))
    #expect(saved.probes.count == fullRunCells)
  }

  @Test(.enabled(if: External.xmllint != nil, "xmllint is not installed (scripts/setup.sh installs libxml2-utils)"))
  func reportJUnitAndKTAPOverSavedReports() throws {
    let files = try MatrixFiles()
    let old = try files.write("old.json", Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-4.14", "--json"]).stdout)
    let new = try files.write("new.json", files.fakeText)
    let junit = try Run.daxpin(["report", "junit", old, new])
    #expect(junit.status == 1)
    #expect(try Self.xsdProblems(junit.stdout, in: files.dir) == nil)
    #expect(Self.count("<testsuite ", in: junit.stdout) == 2)
    #expect(Self.count("<testcase ", in: junit.stdout) == 2 * fullRunCells)
    #expect(junit.stdout.contains(#"<testsuites name="daxpin" tests="\#(2 * fullRunCells)" failures="28" errors="0" skipped="314""#))

    let ktap = try Run.daxpin(["report", "ktap", old, new])
    #expect(ktap.status == 1)
    let doc = try KTAPDocument.parse(ktap.stdout)
    #expect(doc.plan == 2)
    #expect(doc.results.map(\.ok) == [false, true])
    #expect(doc.results.map(\.name) == ["SIMULATED 4.14.0-daxpin-fake on daxpin-fake", "SIMULATED 6.1.176-daxpin-fake on daxpin-fake"])
    #expect(doc.results.map { $0.subtest?.plan } == [fullRunCells, fullRunCells])
    #expect(doc.results[1].subtest?.results.allSatisfy(\.ok) == true)

    // One report: the same document `probe --format ktap` prints.
    let one = try Run.daxpin(["report", "ktap", new])
    let probe = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--format", "ktap"])
    #expect(one.stdout == probe.stdout)
    #expect(one.status == 0)

    // The matrix's rules: a repeat counts once, simulated and real never mix.
    let repeated = try Run.daxpin(["report", "junit", new, new])
    #expect(Self.count("<testsuite ", in: repeated.stdout) == 1)
    let real = try files.write("real.json", json: files.real)
    let mixed = try Run.daxpin(["report", "ktap", new, real])
    #expect(mixed.status == 2)
    #expect(mixed.stdout.isEmpty)
    #expect(mixed.stderr.hasPrefix("daxpin: report ktap: \(real) is real but \(new) is simulated (fake backend)"))
  }

  @Test(.enabled(if: External.xmllint != nil, "xmllint is not installed (scripts/setup.sh installs libxml2-utils)"))
  func untrustedTextCannotBreakTheXMLOrTheKTAP() throws {
    let files = try MatrixFiles()
    let evil = "h\"o<s>t&'\u{1}\n# not ok 99 injected\u{FFFE}]]>"
    var json = try files.real
    json["host"] = ["hostname": evil, "arch": "x86_64"]
    json = try MatrixFiles.editProbe(json, 0) { p in
      p["verdict"] = "fail"
      p["reason"] = "</failure><testcase name=\"x\" classname=\"y\"/>\nnot ok 1 injected # SKIP"
    }
    let path = try files.write("evil.json", json: json)
    let junit = try Run.daxpin(["report", "junit", path])
    #expect(junit.status == 1)
    #expect(try Self.xsdProblems(junit.stdout, in: files.dir) == nil)
    #expect(Self.count("<testcase ", in: junit.stdout) == fullRunCells)
    #expect(junit.stdout.contains("hostname=\"h&quot;o&lt;s&gt;t&amp;&#39;␁␊# not ok 99 injected\u{FFFD}]]&gt;\""))

    let ktap = try Run.daxpin(["report", "ktap", path])
    let doc = try KTAPDocument.parse(ktap.stdout)
    #expect(doc.plan == fullRunCells)
    #expect(!doc.results[0].ok)
    #expect(
      doc.results[0].notes == [
        "daxpin 0.1.0: 6.1.0-50-amd64 on h\"o<s>t&'␁␊# not ok 99 injected\u{FFFE}]]>",
        "vfio-type1.anon.rw: </failure><testcase name=\"x\" classname=\"y\"/>␊not ok 1 injected # SKIP",
      ])
  }
}

/// In the serialized probe suite, like every test that runs a real probe.
extension ProbeCommandTests {
  @Test(.enabled(if: isRoot, "probe needs root"))
  func realProbeKTAPAndJUnit() throws {
    let ktap = try Run.daxpin(["probe", "--interface", "io_uring", "--format", "ktap"])
    let doc = try KTAPDocument.parse(ktap.stdout)
    #expect(doc.plan == MemoryKind.allCases.count * 2)
    #expect(doc.results.map(\.name) == MemoryKind.allCases.flatMap { k in Access.allCases.map { "io_uring.\(k.rawValue).\($0.rawValue)" } })
    let failed = doc.results.contains { !$0.ok }
    #expect(ktap.status == (failed ? 1 : doc.results.allSatisfy { $0.directive == "SKIP" } ? 4 : 0))
    if let xmllint = External.xmllint {
      let files = try MatrixFiles()
      let junit = try Run.daxpin(["probe", "--interface", "io_uring", "--format", "junit"])
      let path = files.dir + "/real.xml"
      try junit.stdout.write(toFile: path, atomically: false, encoding: .utf8)
      #expect(try External.run(xmllint, ["--noout", "--schema", ReportFormatsCommandTests.xsd, path]).status == 0)
      #expect(ReportFormatsCommandTests.count("<testcase classname=\"io_uring\" ", in: junit.stdout) == MemoryKind.allCases.count * 2)
    }
  }
}
