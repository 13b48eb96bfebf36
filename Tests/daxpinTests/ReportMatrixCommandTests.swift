import DaxPinCore
import Foundation
import Testing

/// Report files for `report matrix` tests, in a private directory removed at the end.
///
/// Every report starts as what `daxpin probe --backend fake --profile linux-6.1 --json` prints
/// (any user can run it). A "real" report is that one edited as JSON: `backend: "linux"`, no
/// `simulated`, a host name and kernel release without the fake backend's marks. Nothing else
/// can make a real report in a test (a real probe needs root and VFIO hardware), and the matrix
/// only reads those fields to tell simulated from real.
final class MatrixFiles {
  let dir: String
  /// The fake report as printed, and decoded as a JSON object for edits.
  let fakeText: String

  init() throws {
    dir = NSTemporaryDirectory() + "daxpin-matrix-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
    let r = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--json"])
    fakeText = r.stdout
  }

  deinit { try? FileManager.default.removeItem(atPath: dir) }

  var fake: [String: Any] { get throws { try #require(JSONSerialization.jsonObject(with: Data(fakeText.utf8)) as? [String: Any]) } }

  /// The fake report made to look real (see the type's comment).
  var real: [String: Any] {
    get throws {
      var r = try fake
      r["backend"] = "linux"
      r["simulated"] = nil
      r["host"] = ["hostname": "lab-host", "arch": "x86_64"]
      var kernel = try #require(r["kernel"] as? [String: Any])
      kernel["release"] = "6.1.0-50-amd64"
      r["kernel"] = kernel
      return r
    }
  }

  /// The fake report's kernel release (`6.1.176-daxpin-fake`).
  var fakeRelease: String { get throws { try #require((try fake["kernel"] as? [String: Any])?["release"] as? String) } }

  func write(_ name: String, _ text: String) throws -> String {
    let path = dir + "/" + name
    try text.write(toFile: path, atomically: false, encoding: .utf8)
    return path
  }

  func write(_ name: String, bytes: [UInt8]) throws -> String {
    let path = dir + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  func write(_ name: String, json: [String: Any]) throws -> String {
    let path = dir + "/" + name
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// `json` with `probes[index]` edited by `body`.
  static func editProbe(_ json: [String: Any], _ index: Int, _ body: (inout [String: Any]) -> Void) throws -> [String: Any] {
    try edit(json, "probes", index, body)
  }

  /// `json` with `json[array][index]` (an array of objects) edited by `body`.
  static func edit(_ json: [String: Any], _ array: String, _ index: Int, _ body: (inout [String: Any]) -> Void) throws -> [String: Any] {
    var json = json
    var elements = try #require(json[array] as? [[String: Any]])
    body(&elements[index])
    json[array] = elements
    return json
  }

  /// Validates each of `bad` (what it breaks, the document) against `schema` alone, expecting a
  /// refusal, and `good` expecting acceptance: a schema test that cannot pass vacuously.
  func expectSchema(_ schema: String, refuses bad: [(String, [String: Any])], accepts good: [String: Any]) throws {
    for (what, report) in bad {
      let path = try write("bad-\(what.replacingOccurrences(of: " ", with: "-")).json", json: report)
      let v = try External.validateJSON(schema: schema, files: [path])
      #expect(v.status == 1, "\(schema) accepts a document with \(what)")
    }
    let ok = try External.validateJSON(schema: schema, files: [try write("good.json", json: good)])
    #expect(ok.status == 0, "\(ok.stdout)")
  }
}

@Suite("daxpin report matrix, end to end")
struct ReportMatrixCommandTests {
  @Test func malformedReportIsOneClearLine() throws {
    let files = try MatrixFiles()
    let garbage = try files.write("garbage.json", "{ not json")
    let missing = try files.write("missing.json", "{\"schema\": \"daxpin/report\"}")
    let r1 = try Run.daxpin(["report", "matrix", garbage])
    #expect(r1.status == 2)
    #expect(r1.stderr == "daxpin: report matrix: \(garbage): not a daxpin report: not valid JSON\n")
    let r2 = try Run.daxpin(["report", "matrix", missing])
    #expect(r2.status == 2)
    #expect(r2.stderr == "daxpin: report matrix: \(missing): not a daxpin report: missing \"schema_version\" at the top level\n")
  }

  @Test func otherSchemaIsOneClearLine() throws {
    let files = try MatrixFiles()
    var json = try files.fake
    json["schema"] = "other/thing"
    let other = try files.write("other.json", json: json)
    let r = try Run.daxpin(["report", "matrix", other])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: report matrix: \(other): other/thing 1.\(Report.currentVersion.minor), not daxpin/report 1.x\n")
  }

  @Test func invalidUTF8IsAnErrorNotACrash() throws {
    let files = try MatrixFiles()
    let bad = try files.write("bad.json", bytes: Array(#"{"schema": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8))
    let r = try Run.daxpin(["report", "matrix", bad])
    #expect(r.status == 2)
    #expect(r.signalled == nil)
    #expect(r.stdout == "")
    #expect(r.stderr == "daxpin: report matrix: \(bad): not a daxpin report: not valid UTF-8\n")
  }

  @Test func dashReadsStandardInput() throws {
    let files = try MatrixFiles()
    let path = try files.write("fake.json", files.fakeText)
    let byPath = try Run.daxpin(["report", "matrix", path])
    #expect(byPath.status == 0)
    #expect(byPath.stdout.hasPrefix("# daxpin compatibility matrix (SIMULATED: fake backend)\n\n1 report from 1 host."))
    let byStdin = try Run.daxpin(["report", "matrix", "-"], stdin: path)
    #expect(byStdin.status == 0)
    #expect(byStdin.stderr == "")
    #expect(byStdin.stdout == byPath.stdout)
  }

  @Test func pipesAndFIFOsAreRead() throws {
    let files = try MatrixFiles()
    let path = try files.write("fake.json", files.fakeText)
    let byPath = try Run.daxpin(["report", "matrix", "--jsonl", path])
    #expect(byPath.stdout.split(separator: "\n").count == fullRunCells)
    // <(...) is /dev/fd/N: a pipe, with no size and no seek.
    let substituted = try Run.shell(#"exec "$DAXPIN" report matrix --jsonl <(cat '\#(path)')"#)
    #expect(substituted.status == 0)
    #expect(substituted.stderr == "")
    #expect(substituted.stdout == byPath.stdout)
    let fifo = files.dir + "/fifo"
    let named = try Run.shell(#"mkfifo '\#(fifo)' && { cat '\#(path)' > '\#(fifo)' & } && exec "$DAXPIN" report matrix --jsonl '\#(fifo)'"#)
    #expect(named.status == 0)
    #expect(named.stderr == "")
    #expect(named.stdout == byPath.stdout)
  }

  @Test func unreadableFileSaysWhyWithTheErrnoName() throws {
    let files = try MatrixFiles()
    let missing = try Run.daxpin(["report", "matrix", files.dir + "/absent.json"])
    #expect(missing.status == 2)
    #expect(missing.stdout == "")
    #expect(missing.stderr == "daxpin: report matrix: \(files.dir)/absent.json: ENOENT\n")
    // A directory opens; reading it is EISDIR (no hang, no crash).
    let directory = try Run.daxpin(["report", "matrix", files.dir])
    #expect(directory.status == 2)
    #expect(directory.signalled == nil)
    #expect(directory.stdout == "")
    #expect(directory.stderr == "daxpin: report matrix: \(files.dir): EISDIR\n")
  }

  @Test(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root to drop to nobody"))
  func permissionDeniedIsEACCES() throws {
    let files = try MatrixFiles()
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: files.dir)
    let path = try files.write("private.json", files.fakeText)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    let r = try Run.daxpin(["report", "matrix", path], asUser: 65534)
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: report matrix: \(path): EACCES\n")
  }

  @Test func hostileHostnameCannotBreakTheTable() throws {
    let files = try MatrixFiles()
    var json = try files.fake
    json["host"] = ["hostname": "evil | host\n| 9.9.9 | ✔ / ✔ |\\", "arch": "x86_64"]
    let hostile = try files.write("hostile.json", json: json)
    let plain = try Run.daxpin(["report", "matrix", try files.write("fake.json", files.fakeText)])
    let r = try Run.daxpin(["report", "matrix", hostile])
    #expect(r.status == 0)
    let release = try files.fakeRelease
    // The same document, line for line; only the row label differs, escaped.
    let expected = plain.stdout.replacingOccurrences(
      of: "| \(release) · daxpin-fake |", with: "| \(release) · evil \\| host␊\\| 9.9.9 \\| ✔ / ✔ \\|\\\\ |")
    #expect(expected != plain.stdout)
    #expect(r.stdout == expected)
  }

  @Test func aReportGivenTwiceCountsOnce() throws {
    let files = try MatrixFiles()
    let a = try files.write("a.json", files.fakeText)
    let b = try files.write("b.json", files.fakeText)
    let once = try Run.daxpin(["report", "matrix", a])
    #expect(once.stdout.contains("\n1 report from 1 host."))
    let sameFile = try Run.daxpin(["report", "matrix", a, a])
    #expect(sameFile.status == 0)
    #expect(sameFile.stdout == once.stdout)
    #expect(sameFile.stderr == "daxpin: report matrix: \(a) repeats \(a); counted once\n")
    let copy = try Run.daxpin(["report", "matrix", a, b])
    #expect(copy.status == 0)
    #expect(copy.stdout == once.stdout)
    #expect(copy.stderr == "daxpin: report matrix: \(b) repeats \(a); counted once\n")
    // Standard input twice is read once.
    let stdinTwice = try Run.daxpin(["report", "matrix", "-", "-"], stdin: a)
    #expect(stdinTwice.stdout == once.stdout)
    #expect(stdinTwice.stderr == "daxpin: report matrix: - repeats -; counted once\n")
  }

  @Test func sameHostAndKernelWithOtherProbesIsAnError() throws {
    let files = try MatrixFiles()
    let a = try files.write("a.json", files.fakeText)
    let edited = try MatrixFiles.editProbe(try files.fake, 0) { p in
      p["outcome"] = "refused"
      p["errno_name"] = "EPERM"
    }
    let b = try files.write("b.json", json: edited)
    let r = try Run.daxpin(["report", "matrix", a, b])
    #expect(r.status == 2)
    #expect(r.stdout == "")
    #expect(r.stderr == "daxpin: report matrix: \(b) and \(a) both report \(try files.fakeRelease) on daxpin-fake but differ at vfio-type1.anon.rw: merge only one of them\n")
  }

  @Test func reportsWithoutProbesGiveEmptyOutput() throws {
    let files = try MatrixFiles()
    var json = try files.fake
    json["probes"] = [Any]()
    let empty = try files.write("empty.json", json: json)
    var other = json
    var kernel = try #require(other["kernel"] as? [String: Any])
    kernel["release"] = "5.10.0-32-daxpin-fake"
    other["kernel"] = kernel
    let empty2 = try files.write("empty2.json", json: other)
    for args in [[empty], ["--jsonl", empty], [empty, empty2], ["--jsonl", empty, empty2]] {
      let r = try Run.daxpin(["report", "matrix"] + args)
      #expect(r.status == 0, "\(args)")
      #expect(r.stdout == "", "\(args)")
      #expect(r.stderr == "", "\(args)")
    }
  }

  @Test func simulatedWithoutTheFlagStillNeverMixesWithReal() throws {
    let files = try MatrixFiles()
    let real = try files.write("real.json", json: try files.real)
    let realAlone = try Run.daxpin(["report", "matrix", real])
    #expect(realAlone.status == 0)
    #expect(realAlone.stdout.hasPrefix("# daxpin compatibility matrix\n\n1 report from 1 host."))
    // The flag deleted: `backend: "fake"` still says simulated.
    var noFlag = try files.fake
    noFlag["simulated"] = nil
    let fake = try files.write("fake-no-flag.json", json: noFlag)
    let r1 = try Run.daxpin(["report", "matrix", real, fake])
    #expect(r1.status == 2)
    #expect(r1.stdout == "")
    #expect(r1.stderr == "daxpin: report matrix: \(fake) is simulated (fake backend) but \(real) is real: cannot merge them, merge each kind separately\n")
    // The flag deleted and the backend renamed: the fake host name still says simulated.
    noFlag["backend"] = "linux"
    let renamed = try files.write("fake-renamed.json", json: noFlag)
    let r2 = try Run.daxpin(["report", "matrix", renamed, real])
    #expect(r2.status == 2)
    #expect(r2.stderr == "daxpin: report matrix: \(real) is real but \(renamed) is simulated (fake backend): cannot merge them, merge each kind separately\n")
  }

  @Test func hugeHostnameIsCappedPerRow() throws {
    let files = try MatrixFiles()
    let huge = String(repeating: "A", count: 50_000_000)
    let text = files.fakeText.replacingOccurrences(of: #""hostname" : "daxpin-fake""#, with: #""hostname" : "\#(huge)""#)
    #expect(text.utf8.count > 50_000_000)
    let path = try files.write("huge-host.json", text)
    let r = try Run.daxpin(["report", "matrix", "--jsonl", path])
    #expect(r.status == 0)
    let rows = try r.stdout.split(separator: "\n").map { try ReportJSON.decode(Matrix.Row.self, from: String($0)) }
    #expect(rows.count == fullRunCells)
    let capped = String(repeating: "A", count: 253) + "…"
    #expect(rows.allSatisfy { $0.host == capped })
    #expect(r.stdout.utf8.count < fullRunCells * 1024)
  }

  @Test func inputOverTheCapIsRefusedUnread() throws {
    let files = try MatrixFiles()
    let path = files.dir + "/sparse.json"
    #expect(FileManager.default.createFile(atPath: path, contents: nil))
    let h = try #require(FileHandle(forWritingAtPath: path))
    try h.truncate(atOffset: 64 << 20 + 1)
    try h.close()
    let r = try Run.daxpin(["report", "matrix", path])
    #expect(r.status == 2)
    #expect(r.stdout == "")
    #expect(r.stderr == "daxpin: report matrix: \(path): larger than 64 MiB, not a daxpin report\n")
    let endless = try Run.daxpin(["report", "matrix", "/dev/zero"])
    #expect(endless.stderr == "daxpin: report matrix: /dev/zero: larger than 64 MiB, not a daxpin report\n")
  }
}
