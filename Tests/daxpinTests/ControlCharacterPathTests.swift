import DaxPinCore
import Foundation
import Glibc
import Testing

/// Paths with control characters (a newline, an escape) named on the command line: every line
/// daxpin prints stays one line, and no escape sequence reaches the terminal; such characters are
/// shown as Control Pictures (`␊`, `␛`), as `report matrix` shows them.
extension ProbeCommandTests {
  @Test(.enabled(if: isRoot, "probe needs root"))
  func aNamedPathWithANewlineIsOneLineOnStderr() throws {
    let scratch = try Scratch()
    let file = scratch.path + "/a\nb\u{1b}[31m"
    #expect(FileManager.default.createFile(atPath: file, contents: nil))
    let r = try Run.daxpin(["probe", "--pagecache-dir", file, "--interface", "io_uring"])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: --pagecache-dir \(scratch.path)/a␊b␛[31m is a regular file, not a directory\n")
  }

  /// The reason under a cell names the directory on the same line (it used to be cut in two).
  @Test(.enabled(if: isRoot && fsdaxKindForVarTmp != nil, "probe needs root; /var/tmp on ext4 or xfs"))
  func aReasonNamingADirectoryWithANewlineStaysOnItsLine() throws {
    let dir = "/var/tmp/daxpin-nl-\(UUID().uuidString)-a\nb"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let kind = try #require(fsdaxKindForVarTmp)
    let r = try Run.daxpin(["probe", "--fsdax-dir", dir, "--interface", "io_uring", "--kind", kind])
    let shown = dir.replacingOccurrences(of: "\n", with: "␊")
    #expect(r.stdout.contains("                a file in \(shown) is not DAX"), "\(r.stdout)")
  }
}

/// `fsdax-ext4-shared` or `fsdax-xfs-shared` for the filesystem /var/tmp is on (`stat -f`); nil
/// for others.
let fsdaxKindForVarTmp: String? = {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/stat")
  p.arguments = ["-f", "-c", "%t", "/var/tmp"]
  let out = Pipe()
  p.standardOutput = out
  guard (try? p.run()) != nil else { return nil }
  let magic = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  p.waitUntilExit()
  switch magic.trimmingCharacters(in: .whitespacesAndNewlines) {
  case "ef53": return "fsdax-ext4-shared"
  case "58465342": return "fsdax-xfs-shared"
  default: return nil
  }
}()
