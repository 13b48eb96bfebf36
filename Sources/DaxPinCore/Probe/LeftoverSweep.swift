import SystemPackage

/// Removes what dead runs left behind: a run killed by SIGKILL (or a signal it cannot catch)
/// leaves its private directory, with 2 MiB files in it — in `/dev/shm` that is RAM. A directory
/// is removed only when every sign says it is a dead daxpin run's: the name `.daxpin-*`, a real
/// directory (not a symlink) owned by this user with no group or other access, whose name records
/// its run (`.daxpin-<pid>-<start time>-<random>`), no live process with that pid and start
/// time, and no lock held on it (a live run holds one, `ScratchDirectory`; in another pid
/// namespace its pid means nothing here). Only regular files directly inside are removed, then the directory. Nothing else is
/// touched: a live run's directory, another user's, one with a subdirectory, or one whose name
/// records no run.
struct LeftoverSweep {
  let kernel: any Kernel

  /// Sweeps `parent`; returns one notice per directory removed or left alone for a reason.
  func sweep(_ parent: String) -> [String] {
    guard case .success(let parentFD) = kernel.openDirectory(parent, in: nil) else { return [] }
    defer { kernel.close(parentFD) }
    guard case .success(let names) = kernel.entries(parentFD) else { return [] }
    let me = kernel.currentProcess()
    var notices: [String] = []
    for name in names.sorted() {
      guard let (pid, start) = ScratchDirectory.owner(of: name) else { continue }
      if pid == me.pid && start == me.startTime { continue }
      if case .success(let t) = kernel.processStartTime(pid), t == start { continue }
      guard case .success(let dir) = kernel.openDirectory(name, in: parentFD) else { continue }
      defer { kernel.close(dir) }
      // A live run holds the lock (`ScratchDirectory`), whatever pid namespace it runs in.
      guard case .success(let st) = kernel.status(of: dir), ScratchDirectory.isPrivate(st, to: me),
        case .success = kernel.lock(dir), case .success(let inside) = kernel.entries(dir)
      else { continue }
      var removed = true
      for entry in inside {
        if case .failure = kernel.unlink(entry, in: dir, directory: false) { removed = false }
      }
      let shown = "\(RawPath.display(parent))/\(RawPath.display(name))"
      guard removed, case .success = kernel.unlink(name, in: parentFD, directory: true) else {
        notices.append("could not remove \(shown), left by daxpin run \(pid) that no longer lives: remove it by hand")
        continue
      }
      let files = inside.count
      notices.append("removed \(shown) (\(files) file\(files == 1 ? "" : "s")), left by daxpin run \(pid) that no longer lives")
    }
    return notices
  }
}
