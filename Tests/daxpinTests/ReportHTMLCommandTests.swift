import DaxPinCore
import Foundation
import Testing

/// `daxpin report html`, loaded in a real browser: headless Chromium opens the page with
/// `#selftest`, which clicks every cell, exercises the filters and writes what it found, and
/// every error, console error and CSP violation, into `<pre id="selftest">`; the test reads the
/// dumped DOM.
@Suite("daxpin report html, in headless Chromium", .serialized)
struct ReportHTMLCommandTests {

  /// `key=value` lines of the self-test.
  static func values(_ lines: [String]) -> [String: String] {
    Dictionary(lines.compactMap { l in l.firstIndex(of: "=").map { (String(l[..<$0]), String(l[l.index(after: $0)...])) } }, uniquingKeysWith: { a, _ in a })
  }

  static func fake(_ files: MatrixFiles, _ profile: String) throws -> String {
    try files.write("\(profile).json", Run.daxpin(["probe", "--backend", "fake", "--profile", profile, "--json"]).stdout)
  }

  @Test(.enabled(if: External.chromium != nil, "chromium is not installed (scripts/setup.sh installs it)"))
  func pageLoadsEveryCellOpensItsDetailsAndUnsafeIsMarked() throws {
    let files = try MatrixFiles()
    let old = try Self.fake(files, "linux-4.14")
    let new = try Self.fake(files, "linux-6.1")
    let page = files.dir + "/matrix.html"
    let r = try Run.daxpin(["report", "html", "-o", page, old, new])
    #expect(r.status == 0)
    #expect(r.stdout.isEmpty && r.stderr.isEmpty)
    let html = try String(contentsOfFile: page, encoding: .utf8)
    // One file: nothing to fetch, nothing referenced outside it.
    #expect(!html.contains("http://") && !html.contains("https://"))
    #expect(!html.contains(" src="))
    #expect(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "))

    let dom = try External.renderedDOM(page, fragment: "#selftest")
    let lines = try #require(External.selftest(dom), "no <pre id=\"selftest\"> in the rendered page:\n\(dom.prefix(2000))")
    let v = Self.values(lines)
    #expect(lines.last == "done")
    #expect(v["cells"] == "\(2 * fullRunCells)", "one cell per probe: 2 reports × \(fullRunCells)")
    #expect(v["opened"] == "\(2 * fullRunCells)", "every cell opens its own details")
    #expect(v["unsafe"] == "20", "linux-4.14's 20 UNSAFE cells are marked (16 pins, 4 truncate-held)")
    #expect(v["broken"] == "0", "\(lines.filter { $0.hasPrefix("broken:") })")
    #expect(v["errors"] == "0", "\(lines)")
    #expect(v["unsafe-banner"] == "yes")
    #expect(v["simulated-banner"] == "yes")
    // Exactly two kernels: the page says what changed, as `report diff` does.
    let diff = try Run.daxpin(["report", "diff", old, new])
    #expect(v["diff"] == "\(diff.stdout.split(separator: "\n").count - 4)")

    // Without #selftest the page runs no test and logs nothing.
    let plain = try External.renderedDOM(page)
    #expect(plain.contains("id=\"unsafe-banner\""))
    #expect(External.selftest(plain) == nil)
  }

  @Test(.enabled(if: External.chromium != nil, "chromium is not installed (scripts/setup.sh installs it)"))
  func realReportHasNoSimulatedBannerAndNoDiffWithOneKernel() throws {
    let files = try MatrixFiles()
    let real = try files.write("real.json", json: files.real)
    let page = files.dir + "/real.html"
    #expect(try Run.daxpin(["report", "html", "--output", page, real]).status == 0)
    let lines = try #require(External.selftest(External.renderedDOM(page, fragment: "#selftest")))
    let v = Self.values(lines)
    #expect(v["cells"] == "\(fullRunCells)")
    #expect(v["opened"] == "\(fullRunCells)")
    #expect(v["unsafe"] == "0")
    #expect(v["unsafe-banner"] == "no")
    #expect(v["simulated-banner"] == "no")
    #expect(v["diff"] == "none")
    #expect(v["errors"] == "0", "\(lines)")
  }

  @Test(.enabled(if: External.chromium != nil, "chromium is not installed (scripts/setup.sh installs it)"))
  func untrustedStringsAreShownNotRun() throws {
    let files = try MatrixFiles()
    var json = try files.real
    let evilHost = #"<img src=x id="pwned-host" onerror="document.title='pwned'">"#
    json["host"] = ["hostname": evilHost, "arch": "x86_64"]
    var kernel = try #require(json["kernel"] as? [String: Any])
    kernel["release"] = #"6.1.0-50-amd64</script><script>document.title='pwned'</script>"#
    json["kernel"] = kernel
    json = try MatrixFiles.editProbe(json, 0) { p in
      p["reason"] = #"</div></dl><b id="pwned-reason">bold</b>&amp;"#
      p["hint"] = "line one\nline two\u{0}"
    }
    let path = try files.write("evil.json", json: json)
    let page = files.dir + "/evil.html"
    #expect(try Run.daxpin(["report", "html", "-o", page, path]).status == 0)
    let html = try String(contentsOfFile: page, encoding: .utf8)
    #expect(!html.contains("<img"))
    #expect(!html.contains("<script>document"))
    #expect(html.contains("&lt;img src=x id=&quot;pwned-host&quot;"))
    #expect(html.contains("line one␊line two␀"))

    let dom = try External.renderedDOM(page, fragment: "#selftest")
    // Shown as text (a serialized text node keeps `"` but escapes `<`), never as elements.
    #expect(!dom.contains("<img"))
    #expect(!dom.contains("<b id=\"pwned-reason\">"))
    #expect(dom.contains("&lt;b id=\"pwned-reason\"&gt;bold&lt;/b&gt;&amp;amp;"))
    #expect(!dom.contains("<title>pwned</title>"))
    let v = Self.values(try #require(External.selftest(dom)))
    #expect(v["cells"] == "\(fullRunCells)")
    #expect(v["opened"] == "\(fullRunCells)")
    #expect(v["errors"] == "0")
  }

  @Test func simulatedAndRealNeverMixAndAnEmptyInputWritesNothing() throws {
    let files = try MatrixFiles()
    let fake = try files.write("fake.json", files.fakeText)
    let real = try files.write("real.json", json: files.real)
    let page = files.dir + "/mixed.html"
    let r = try Run.daxpin(["report", "html", "-o", page, fake, real])
    #expect(r.status == 2)
    #expect(r.stderr.hasPrefix("daxpin: report html: \(real) is real but \(fake) is simulated (fake backend)"))
    #expect(!FileManager.default.fileExists(atPath: page))
    var empty = try files.fake
    empty["probes"] = [Any]()
    let none = try Run.daxpin(["report", "html", "-o", page, try files.write("empty.json", json: empty)])
    #expect(none.status == 2)
    #expect(none.stderr == "daxpin: report html: no report has a probe: no page written\n")
    #expect(!FileManager.default.fileExists(atPath: page))
    let missing = try Run.daxpin(["report", "html", fake])
    #expect(missing.status == 64, "-o is required")
  }

  @Test func dashWritesThePageToStandardOutput() throws {
    let files = try MatrixFiles()
    let fake = try files.write("fake.json", files.fakeText)
    let r = try Run.daxpin(["report", "html", "-o", "-", fake])
    #expect(r.status == 0)
    #expect(r.stdout.hasPrefix("<!DOCTYPE html>"))
    #expect(r.stdout.contains("id=\"simulated-banner\""))
    #expect(r.stdout.components(separatedBy: "<button type=\"button\" class=\"cell ").count - 1 == fullRunCells)
  }
}

extension ReportHTMLCommandTests {
  /// `-o` naming one of the reports read (by its name, or another name for the same file) is
  /// refused before anything is written: the report stays a report.
  @Test func pageOverOneOfItsInputsIsRefused() throws {
    let files = try MatrixFiles()
    let a = try Self.fake(files, "linux-6.1")
    let b = try Self.fake(files, "linux-6.12")
    let before = try String(contentsOfFile: a, encoding: .utf8)
    let r = try Run.daxpin(["report", "html", "-o", a, a, b])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: report html: -o \(a) is one of the reports read; write the page to another file\n")
    let other = files.dir + "/same.json"
    #expect(link(a, other) == 0)
    let r2 = try Run.daxpin(["report", "html", "-o", other, a, b])
    #expect(r2.status == 2)
    #expect(r2.stderr == "daxpin: report html: -o \(other) is the report \(a); write the page to another file\n")
    #expect(try String(contentsOfFile: a, encoding: .utf8) == before)
  }

  /// `-o` goes through the same writer as `--output`: a device node stays a device.
  @Test(.enabled(if: isRoot, "mknod needs root"))
  func pageToADeviceNodeWritesThroughAndLeavesItADevice() throws {
    let files = try MatrixFiles()
    let report = try Self.fake(files, "linux-6.1")
    let node = files.dir + "/null"
    #expect(mknod(node, S_IFCHR | 0o666, makedev(1, 3)) == 0)
    let r = try Run.daxpin(["report", "html", "-o", node, report])
    #expect(r.status == 0)
    var st = stat()
    #expect(lstat(node, &st) == 0)
    #expect(st.st_mode & S_IFMT == S_IFCHR)
    #expect(st.st_rdev == makedev(1, 3))
    let dir = try Run.daxpin(["report", "html", "-o", files.dir, report])
    #expect(dir.status == 2)
    #expect(dir.stderr == "daxpin: report html: \(files.dir): EISDIR\n")
  }
}
