import DaxPinBuildInfo
import Foundation
import Testing

/// `daxpin --version` names the version and the commit the binary was built from; `daxpin lab`
/// needs no source checkout (its guest init is compiled in) and says what to do when its cache
/// cannot be written.
@Suite struct VersionCommandTests {
  static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

  @Test func versionNamesTheCommitHEADNames() throws {
    let run = try Run.daxpin(["--version"])
    #expect(run.status == 0)
    let line = run.stdout.trimmingCharacters(in: .newlines)
    #expect(line.hasPrefix("\(BuildInfo.version) ("))
    guard let git = External.find("git"), FileManager.default.fileExists(atPath: Self.checkout + "/.git") else {
      #expect(line == "\(BuildInfo.version) (unknown commit)")
      return
    }
    let head = try External.run(git, ["-C", Self.checkout, "rev-parse", "HEAD"])
    try #require(head.status == 0)
    // Built by this test run's `swift build`, so from the commit HEAD names now.
    #expect(line == "\(BuildInfo.version) (commit \(head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))")
  }

  @Test(.enabled(if: getuid() == 0, "lab needs root"))
  func labWithAnUnwritableCacheIsOneLineAndExit2() throws {
    let dir = NSTemporaryDirectory() + "daxpin-version-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
    let run = try Run.daxpin(["lab", "--cache", dir + "/file/cache", "--out", dir + "/out"])
    #expect(run.status == 2)
    let lines = run.stderr.split(separator: "\n")
    #expect(lines.count == 1)
    #expect(run.stderr.contains("cannot write the guest's init script to \(dir)/file/cache/guest/init"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
  }
}
