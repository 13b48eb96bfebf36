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

  /// The other half: while a run uses its private directory, no one else can take its lock.
  /// Tried only once a file is in it: the run locks the directory before it creates any.
  @Test(.enabled(if: isRoot, "probe needs root"))
  func aRunHoldsTheLockOnItsPrivateDirectory() throws {
    let child = try Spawned([Run.executable, "probe", "--json", "--interface", "io_uring"], stdout: .pipe)
    var answer: Int32?
    for _ in 0..<5000 where answer == nil {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
      if let name = names.first(where: { $0.hasPrefix(".daxpin-\(child.pid)-") }),
        !((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm/" + name)) ?? []).isEmpty
      {
        let fd = open("/dev/shm/" + name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
          answer = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno
          close(fd)
        }
      }
      if answer == nil { usleep(200) }
    }
    _ = child.drainStdout()
    #expect(child.wait().status == 0)
    #expect(answer == EWOULDBLOCK)
  }
}
