import Foundation
import Glibc
import Testing

/// A run in another pid namespace (a container that shares /dev/shm with the host, `--ipc=host`)
/// names its private directory with a pid and start time that mean nothing here: to this run's
/// sweep, that live run looks dead. Each run holds flock(2) on its private directory for as long
/// as it lives (the kernel drops it when the run dies, SIGKILL included), and the sweep leaves a
/// locked directory alone. It used to remove the live run's files from under it.
extension ProbeCommandTests {
  @Test(.enabled(if: isRoot, "probe needs root"))
  func aLockedDirectoryOfARunElsewhereIsNeverSwept() throws {
    let fm = FileManager.default
    // A pid that lives nowhere here: a child that has exited and been reaped.
    let gone = Process()
    gone.executableURL = URL(fileURLWithPath: "/bin/true")
    try gone.run()
    gone.waitUntilExit()
    let dir = "/dev/shm/.daxpin-\(gone.processIdentifier)-1-locktest"
    try fm.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    defer { try? fm.removeItem(atPath: dir) }
    #expect(fm.createFile(atPath: dir + "/tmpfs-shared-1", contents: Data(count: 4096)))
    // The live run elsewhere: this test holds the lock, as that run would.
    let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    try #require(fd >= 0)
    defer { close(fd) }
    try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
    let r = try Run.daxpin(["probe", "--interface", "io_uring", "--kind", "tmpfs-shared", "--access", "rw"])
    #expect(r.status == 0)
    #expect(r.stderr == "")
    #expect(fm.fileExists(atPath: dir + "/tmpfs-shared-1"))
  }
  // The other half (a run holds the lock while it works) is checked deterministically in
  // Tests/DaxPinLinuxTests/ScratchDirectoryTests.swift.
}
