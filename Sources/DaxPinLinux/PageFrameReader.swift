import CVFIO
import DaxPinCore
import Glibc
import SystemPackage

/// Page frames, NUMA binding and the truncate-under-a-held-page measurement for `LinuxKernel`.
extension LinuxKernel {
  public func bindMemory(_ m: Mapping, node: Int) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_mbind_node(UnsafeMutableRawPointer(bitPattern: m.address), UInt(m.length), Int32(node)) }
  }

  public func pageFrames(_ m: Mapping) -> Result<[UInt64?], Errno> {
    let count = m.length / 4096
    var entries = [UInt64](repeating: 0, count: count)
    let r = entries.withUnsafeMutableBufferPointer { b in
      nothingOrErrno { cvfio_pagemap(UnsafeMutableRawPointer(bitPattern: m.address), UInt64(count), b.baseAddress) }
    }
    return r.map { entries.map(PagemapEntry.frame) }
  }

  public func frameLocations(_ frames: [UInt64]) -> Result<[FrameLocation], Errno> {
    MemoryBlocks(tree: FileTree(root: "")).locations(frames)
  }

  public func holdPagesAndTruncate(_ targets: [HeldTruncateTarget], holdMs: Int) -> HeldTruncateHold {
    let end = beginHeldTruncate(targets, holdMs: holdMs)
    return HeldTruncateHold { ending in
      switch ending {
      case .released(let waitMs): end(true, waitMs).map(\.result)
      case .abandoned, .dropped: end(false, 0).map(\.result)
      }
    }
  }

  /// `truncateUnderHeldPages` and, per target, the inode of the pipe that held its pages (0 when
  /// the pipe could not be made), so a test can prove from `/proc/self/fd` that every pipe is
  /// closed on every path.
  func heldTruncate(_ targets: [HeldTruncateTarget], holdMs: Int, waitMs: Int) -> [(result: Result<HeldTruncate, Errno>, pipeInode: UInt64)] {
    beginHeldTruncate(targets, holdMs: holdMs)(true, waitMs)
  }

  /// `cvfio_held_truncate_begin` now; the returned function is `cvfio_held_truncate_end` (until
  /// the deadline or at once, and the wait after the drain), to be called once.
  private func beginHeldTruncate(_ targets: [HeldTruncateTarget], holdMs: Int) -> (Bool, Int) -> [(result: Result<HeldTruncate, Errno>, pipeInode: UInt64)] {
    guard !targets.isEmpty else { return { _, _ in [] } }
    let c = targets.map {
      cvfio_held_truncate_target(fd: $0.file.rawValue, addr: UnsafeMutableRawPointer(bitPattern: $0.mapping.address), held: $0.heldBytes)
    }
    let batch = c.withUnsafeBufferPointer { cvfio_held_truncate_begin($0.baseAddress, $0.count, UInt32(clamping: holdMs)) }
    return { untilDeadline, waitMs in
      guard let batch else { return targets.map { _ in (.failure(.noMemory), 0) } }
      var out = [cvfio_held_truncate](repeating: cvfio_held_truncate(), count: targets.count)
      out.withUnsafeMutableBufferPointer { cvfio_held_truncate_end(batch, untilDeadline ? 1 : 0, UInt32(clamping: waitMs), $0.baseAddress) }
      return out.map { o in
        let result: Result<HeldTruncate, Errno> =
          o.setup_errno != 0
          ? .failure(Errno(rawValue: o.setup_errno))
          : .success(
            HeldTruncate(
              heldBytes: Int(o.held_bytes), returnedWhileHeld: o.returned_while_held != 0, returnedAfterRelease: o.returned_after_release != 0,
              truncateErrno: o.truncate_errno == 0 ? nil : Errno(rawValue: o.truncate_errno),
              releaseToReturnMs: o.release_to_return_ms < 0 ? nil : Int(o.release_to_return_ms)))
        return (result, o.pipe_inode)
      }
    }
  }
}

/// One `/proc/self/pagemap` entry: bit 63 present, bits 0-54 the page frame number (0 when the
/// kernel hides it from a reader without CAP_SYS_ADMIN).
enum PagemapEntry {
  static func frame(_ e: UInt64) -> UInt64? {
    guard e & (1 << 63) != 0 else { return nil }
    let pfn = e & ((1 << 55) - 1)
    return pfn == 0 ? nil : pfn
  }
}

/// `/sys/devices/system/memory`: which memory block holds a frame, and that block's node
/// (`memoryN/nodeM`) and zone (`valid_zones`: an online block shows the zone it is in).
struct MemoryBlocks {
  let tree: FileTree
  static let base = "/sys/devices/system/memory"

  func locations(_ frames: [UInt64]) -> Result<[FrameLocation], Errno> {
    guard let text = tree.line(Self.base + "/block_size_bytes"), let blockBytes = UInt64(text, radix: 16), blockBytes >= 4096 else {
      return .failure(.noSuchFileOrDirectory)
    }
    var byBlock: [UInt64: FrameLocation] = [:]
    return .success(
      frames.map { pfn in
        let block = pfn * 4096 / blockBytes
        if let known = byBlock[block] { return known }
        let loc = location(block: block)
        byBlock[block] = loc
        return loc
      })
  }

  func location(block: UInt64) -> FrameLocation {
    let dir = "\(Self.base)/memory\(block)"
    guard let zones = tree.line(dir + "/valid_zones") else { return FrameLocation(node: nil, zone: nil) }
    // An online block names its zone; an offline one lists the zones it could join.
    let online = tree.line(dir + "/state") == "online"
    // `none`: an online block that spans two zones (boot memory at a zone boundary).
    let zone = online ? zones.split(separator: " ").first.map(String.init).flatMap { $0 == "none" ? nil : $0 } : nil
    return FrameLocation(node: node(of: dir), zone: zone)
  }

  /// The `nodeM` entry in the block's directory.
  func node(of dir: String) -> Int? {
    guard let d = opendir(tree.path(dir)) else { return nil }
    defer { closedir(d) }
    while let e = readdir(d) {
      let name = withUnsafeBytes(of: e.pointee.d_name) { b in String(decoding: b.prefix { $0 != 0 }, as: UTF8.self) }
      if name.hasPrefix("node"), let n = Int(name.dropFirst(4)) { return n }
    }
    return nil
  }
}
