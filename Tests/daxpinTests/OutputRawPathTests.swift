import Foundation
import Glibc
import Testing

/// `--output` with a path that is not UTF-8, given through a shell (Foundation's Process would
/// re-encode the argument): the document lands under those very bytes, and a message shows them
/// as `\xNN`.
extension OutputCommandTests {
  /// Runs `daxpin <fake probe> --output "$dir/$(printf NAME)"`; NAME is printf(1) text (`\377`).
  func outputThroughShell(dir: String, printf name: String) throws -> Run {
    try Run.shell("exec \"$DAXPIN\" \(fakeProbe.joined(separator: " ")) --output \"\(dir)/$(printf '\(name)')\"")
  }

  /// The names in `dir` as the kernel has them, bytes that are not UTF-8 included.
  func rawNames(_ dir: [UInt8]) -> [[UInt8]] {
    var names: [[UInt8]] = []
    guard let d = opendir(dir.map { CChar(bitPattern: $0) } + [0]) else { return [] }
    defer { closedir(d) }
    while let e = readdir(d) {
      let n = withUnsafeBytes(of: e.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
      if n != Array(".".utf8) && n != Array("..".utf8) { names.append(n) }
    }
    return names.sorted { $0.lexicographicallyPrecedes($1) }
  }

  /// It used to be written to `r\xF4\x8F\xBF\xBF.json`: the UTF-8 of the private-use scalar that
  /// holds the byte 0xFF inside daxpin (`RawPath`), a file nobody named.
  @Test func aNameThatIsNotUTF8IsTheNameWritten() throws {
    let scratch = try Scratch()
    let r = try outputThroughShell(dir: scratch.path, printf: "r\\377.json")
    #expect(r.status == 0)
    #expect(r.stderr == "")
    #expect(rawNames(Array(scratch.path.utf8)) == [Array("r".utf8) + [0xff] + Array(".json".utf8)])
  }

  @Test func aDirectoryThatIsNotUTF8IsFollowedAndShownAsEscapes() throws {
    let scratch = try Scratch()
    let dir = Array((scratch.path + "/d").utf8) + [0xfe]
    try #require(mkdir(dir.map { CChar(bitPattern: $0) } + [0], 0o755) == 0)
    let written = try outputThroughShell(dir: scratch.path, printf: "d\\376/report.json")
    #expect(written.status == 0)
    #expect(written.stderr == "")
    #expect(rawNames(dir) == [Array("report.json".utf8)])
    let missing = try outputThroughShell(dir: scratch.path, printf: "x\\376/report.json")
    #expect(missing.status == 2)
    #expect(missing.stderr == "daxpin: --output \(scratch.path)/x\\xfe/report.json: ENOENT\n")
  }
}
