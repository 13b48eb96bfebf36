import Foundation
import Glibc
import SystemPackage
import Testing

@testable import DaxPinLinux

@Suite("bounded whole-input reads")
struct BoundedReadTests {
  @Test func readsUpToTheLimitAndRefusesOneByteMore() throws {
    let tree = try FixtureTree()
    try tree.file("/ten", "0123456789")
    #expect(BoundedRead.read(tree.root + "/ten", limit: 10) == .success(Array("0123456789".utf8)))
    #expect(BoundedRead.read(tree.root + "/ten", limit: 9) == .failure(.tooLarge(limit: 9)))
    try tree.file("/empty", "")
    #expect(BoundedRead.read(tree.root + "/empty", limit: 9) == .success([]))
  }

  @Test func failuresAreTheErrno() throws {
    let tree = try FixtureTree()
    #expect(BoundedRead.read(tree.root + "/absent", limit: 10) == .failure(.errno(.noSuchFileOrDirectory)))
    try tree.directory("/dir")
    #expect(BoundedRead.read(tree.root + "/dir", limit: 10) == .failure(.errno(.isDirectory)))
  }

  @Test func readsAPipeToItsEnd() throws {
    var fds: [CInt] = [0, 0]
    #expect(pipe(&fds) == 0)
    let (readEnd, writeEnd) = (fds[0], fds[1])
    defer { close(readEnd) }
    let text = Array(String(repeating: "x", count: 100_000).utf8)
    // More than a pipe buffer holds: the writer runs beside the reader.
    let writer = Thread {
      text.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
          let n = write(writeEnd, raw.baseAddress! + done, raw.count - done)
          if n <= 0 { break }
          done += n
        }
      }
      close(writeEnd)
    }
    writer.start()
    #expect(BoundedRead.read(fd: readEnd, limit: 1 << 20) == .success(text))
  }

  @Test func anEndlessInputStopsAtTheLimit() {
    #expect(BoundedRead.read("/dev/zero", limit: 1 << 20) == .failure(.tooLarge(limit: 1 << 20)))
  }
}
