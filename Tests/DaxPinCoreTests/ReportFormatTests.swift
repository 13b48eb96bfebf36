import FoundationEssentials
import SystemPackage
import Testing

@testable import DaxPinCore

/// The pure parts of the HTML page, the diff, JUnit and KTAP (the browser, xmllint and the KTAP
/// parser check the output end to end in daxpinTests).
@Suite("report formats")
struct ReportFormatTests {
  func report(_ release: String, host: String = "h1", simulated: Bool = false, _ cells: [(Interface, MemoryKind, Access, Outcome, String?, Verdict)]) -> Report {
    var inv = fullInventory()
    inv.kernel.release = release
    return Report(
      toolVersion: "t", backend: simulated ? .fake : .linux, host: .init(hostname: host, arch: "x86_64"), inventory: inv,
      probes: cells.map { c in
        var p = ProbeResult(
          interface: c.0, memory: MemoryDescription(kind: c.1, size: 2 << 20, confirmedBy: "statx STATX_ATTR_DAX", faulted: "write"), access: c.2,
          outcome: c.3, errno: c.4.flatMap { Errno(name: $0)?.rawValue },
          expectation: .refused(.notSupported, origin: "gup-fsdax", basis: "check_vma_flags"), verdict: c.5)
        p.durationUs = 1234
        p.reason = c.5 == .pass ? nil : "why <not>"
        return p
      })
  }

  @Test func sha256KnownAnswers() {
    func hex(_ s: String) -> String {
      SHA256.digest(Array(s.utf8)).map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }.joined()
    }
    #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    #expect(SHA256.cspSource("") == "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='")
  }

  @Test func xmlTextEscapesEverythingThatCouldEndAnAttributeOrElement() {
    #expect(XMLText.attribute(#"a&b<c>d"e'f"#) == "a&amp;b&lt;c&gt;d&quot;e&#39;f")
    #expect(XMLText.attribute("one\ntwo\u{1B}\u{0}") == "one␊two␛␀")
    #expect(XMLText.attribute("\u{FFFE}\u{FFFF}") == "\u{FFFD}\u{FFFD}")
    #expect(XMLText.content("line <1>\n\tline 2\r") == "line &lt;1&gt;\n\tline 2␍")
  }

  @Test func diffListsOutcomeAndErrnoChangesOnly() throws {
    let old = report(
      "6.1.0-50-amd64",
      [
        (.vfioType1v2, .pagecacheShared, .rw, .pinned, nil, .pass), (.vfioType1v2, .anon, .rw, .pinned, nil, .pass),
        (.ioUring, .anon, .ro, .refused, "EFAULT", .pass), (.ioUring, .devdax, .rw, .refused, "EOPNOTSUPP", .pass),
      ])
    var new = report(
      "6.12.0-1-amd64",
      [
        (.vfioType1v2, .pagecacheShared, .rw, .refused, "EFAULT", .pass), (.vfioType1v2, .anon, .rw, .pinned, nil, .fail),
        (.ioUring, .anon, .ro, .refused, "EPERM", .fail), (.vfioType1, .anon, .rw, .pinned, nil, .pass),
      ])
    let diff = try ReportDiff(old: Matrix.Entry(old), new: Matrix.Entry(new))
    #expect(
      diff.changes.map(\.line) == [
        "vfio-type1.anon.rw: absent → pinned [- → pass]",
        "vfio-type1v2.pagecache-shared.rw: pinned → refused EFAULT",
        "io_uring.anon.ro: refused EFAULT → refused EPERM [pass → fail]",
        "io_uring.devdax.rw: refused EOPNOTSUPP → absent [pass → -]",
      ], "vfio-type1v2.anon.rw changed only its verdict: not a change of the kernel")
    #expect(diff.compared == 5)
    #expect(diff.text().hasSuffix("4 of 5 cells changed\n"))
    #expect(diff.text().hasPrefix("old: 6.1.0-50-amd64 on h1\nnew: 6.12.0-1-amd64 on h1\n"))
    let same = try ReportDiff(old: Matrix.Entry(old), new: Matrix.Entry(old))
    #expect(!same.changed)
    new.backend = .fake
    #expect(throws: Matrix.MixedReports.self) { try ReportDiff(old: Matrix.Entry(old), new: Matrix.Entry(new)) }
  }

  @Test func htmlHasOneCellPerProbeAndHashesItsOwnScripts() throws {
    let a = report("4.14.0", [(.vfioType1v2, .fsdaxExt4Shared, .rw, .pinned, nil, .fail), (.ioUring, .anon, .rw, .pinned, nil, .pass)])
    let b = report("6.1.0", [(.vfioType1v2, .fsdaxExt4Shared, .rw, .refused, "EOPNOTSUPP", .pass)])
    let html = HTMLPage.render(try Matrix(entries: [Matrix.Entry(a, details: true), Matrix.Entry(b, details: true)]), generator: "daxpin test")
    #expect(html.components(separatedBy: "<button type=\"button\" class=\"cell ").count - 1 == 3)
    #expect(html.components(separatedBy: "class=\"cell v-fail o-pinned unsafe\"").count - 1 == 1)
    #expect(html.components(separatedBy: "<div class=\"detail\" id=\"d-").count - 1 == 3)
    #expect(html.contains("id=\"unsafe-banner\""))
    #expect(!html.contains("id=\"simulated-banner\""))
    #expect(html.contains("<section id=\"diff\">"), "two kernels: what changed")
    #expect(html.contains("<dt>rule</dt><dd><code>gup-fsdax</code></dd>"))
    #expect(html.contains("<dt>confirmed by</dt><dd>statx STATX_ATTR_DAX</dd>"))
    #expect(html.contains("<dt>duration</dt><dd>1234 µs</dd>"))
    #expect(html.contains("<dt>reason</dt><dd>why &lt;not&gt;</dd>"))
    // The CSP allows exactly the page's own inline style and scripts.
    func blocks(_ tag: String) -> [String] {
      html.components(separatedBy: "<\(tag)>").dropFirst().map { String($0.components(separatedBy: "</\(tag)>")[0]) }
    }
    let scripts = blocks("script")
    let styles = blocks("style")
    #expect(scripts.count == 2 && styles.count == 1)
    for block in scripts + styles { #expect(html.contains(SHA256.cspSource(block))) }
    #expect(!html.contains("'unsafe-inline'"))
  }

  @Test func htmlSimulatedBannerFollowsTheMatrix() throws {
    let fake = report("6.1.176-daxpin-fake", host: Report.fakeHostname, [(.ioUring, .anon, .rw, .pinned, nil, .pass)])
    #expect(fake.isSimulated)
    let html = HTMLPage.render(try Matrix(entries: [Matrix.Entry(fake, details: true)]), generator: "daxpin test")
    #expect(html.contains("id=\"simulated-banner\""))
    #expect(html.contains("<title>daxpin compatibility matrix (SIMULATED)</title>"))
    #expect(!html.contains("<section id=\"diff\">"), "one kernel: nothing to compare")
  }

  @Test func junitAndKTAPCountFromTheProbes() {
    let r = report(
      "6.1.0",
      [
        (.ioUring, .anon, .rw, .pinned, nil, .pass), (.ioUring, .anon, .ro, .unsupported, nil, .skip),
        (.vfioType1, .fsdaxXfsShared, .rw, .pinned, nil, .fail), (.vfioType1, .devdax, .rw, .setupFailed, nil, .error),
      ])
    let xml = JUnit.render([r])
    #expect(xml.contains(#"<testsuites name="daxpin" tests="4" failures="1" errors="1" skipped="1" time="0.004936">"#))
    #expect(xml.contains(#"<testcase classname="io_uring" name="io_uring.anon.rw" time="0.001234"/>"#))
    #expect(xml.contains(#"<skipped message="why &lt;not&gt;"/>"#))
    #expect(xml.contains(#"<failure message="why &lt;not&gt;" type="UNSAFE">observed: pinned"#))
    #expect(xml.contains(#"<error message="why &lt;not&gt;" type="setup-failed">"#))
    let ktap = KTAP.render([r])
    #expect(
      ktap == """
        KTAP version 1
        1..4
        # daxpin t: 6.1.0 on h1
        ok 1 io_uring.anon.rw
        ok 2 io_uring.anon.ro # SKIP why <not>
        # vfio-type1.fsdax-xfs-shared.rw: why <not>
        not ok 3 vfio-type1.fsdax-xfs-shared.rw
        not ok 4 vfio-type1.devdax.rw # ERROR why <not>
        # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1

        """)
    #expect(KTAP.exitCode(r.probes) == 1)
    #expect(ReportFormat.junit.exitCode([r]) == 1)
    #expect(KTAP.exitCode(Array(r.probes[1...1])) == 4)
    #expect(KTAP.exitCode(Array(r.probes[0...1])) == 0)
    #expect(KTAP.exitCode(Array(r.probes[3...3])) == 1, "an error is a failure for kselftest")
    #expect(ReportFormat.text.exitCode([Report(toolVersion: "t", backend: .linux, host: .init(hostname: nil, arch: nil), inventory: fullInventory(), probes: Array(r.probes[3...3]))]) == 2)
  }
}
