import DaxPinLinux
import FoundationEssentials
import Glibc

/// Boots a kernel without its decompressor. A bzImage carries the kernel compressed (Debian:
/// xz), and under TCG its own decompressor took 3.5–4 s of every boot. The ELF `vmlinux` inside
/// it has a PVH entry point (`XEN_ELFNOTE_PHYS32_ENTRY`, `CONFIG_PVH`, on in Debian's kernels),
/// which QEMU's `-kernel` enters directly through its pvh option ROM. The host decompresses the
/// payload once with the native tool and keeps the ELF in the cache, keyed by the bzImage's
/// content hash. A kernel without the note (e.g. a defconfig build) boots as a bzImage, as before.
public enum PVHKernel {
  /// The compressors the kernel build can use, by the payload's magic, and how to undo them.
  static let compressors: [(magic: [UInt8], name: String, argv: [String])] = [
    ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], "xz", ["xz", "-dc"]),
    ([0x1F, 0x8B], "gzip", ["gzip", "-dc"]),
    ([0x28, 0xB5, 0x2F, 0xFD], "zstd", ["zstd", "-dcq"]),
    ([0x5D, 0x00, 0x00], "lzma", ["xz", "--format=lzma", "-dc"]),
    ([0x42, 0x5A, 0x68], "bzip2", ["bzip2", "-dc"]),
    ([0x02, 0x21, 0x4C, 0x18], "lz4", ["lz4", "-dc"]),
  ]

  /// The compressed kernel inside a bzImage: the payload (`payload_offset`/`payload_length` in
  /// the setup header, protocol 2.08+) without the 4-byte little-endian uncompressed size the
  /// build appends, and that size.
  public static func payload(ofBzImage bytes: [UInt8]) -> (data: ArraySlice<UInt8>, size: Int)? {
    guard bytes.count > 0x250, bytes[0x202..<0x206] == [0x48, 0x64, 0x72, 0x53] else { return nil }  // "HdrS"
    let version = Int(bytes[0x206]) | Int(bytes[0x207]) << 8
    guard version >= 0x0208 else { return nil }
    func u32(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 | Int(bytes[o + 2]) << 16 | Int(bytes[o + 3]) << 24 }
    let setupSectors = bytes[0x1F1] == 0 ? 4 : Int(bytes[0x1F1])
    let start = (setupSectors + 1) * 512 + u32(0x248)
    let length = u32(0x24C)
    guard length > 8, start + length <= bytes.count else { return nil }
    let end = start + length
    return (bytes[start..<(end - 4)], u32(end - 4))
  }

  /// The name and command of the compressor whose magic starts `data`.
  static func compressor(of data: ArraySlice<UInt8>) -> (name: String, argv: [String])? {
    compressors.first { data.starts(with: $0.magic) }.map { ($0.name, $0.argv) }
  }

  /// Whether an ELF64 image has a PT_NOTE with the Xen note type 18 (XEN_ELFNOTE_PHYS32_ENTRY):
  /// the PVH entry point QEMU looks for.
  public static func hasPVHEntry(elf: [UInt8]) -> Bool {
    guard elf.count > 64, elf[0..<4] == [0x7F, 0x45, 0x4C, 0x46], elf[4] == 2, elf[5] == 1 else { return false }
    func u16(_ o: Int) -> Int { Int(elf[o]) | Int(elf[o + 1]) << 8 }
    func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
    func u64(_ o: Int) -> Int { u32(o) | u32(o + 4) << 32 }
    let phoff = u64(0x20), phentsize = u16(0x36), phnum = u16(0x38)
    for i in 0..<phnum {
      let ph = phoff + i * phentsize
      guard ph + 56 <= elf.count else { return false }
      guard u32(ph) == 4 else { continue }  // PT_NOTE
      var o = u64(ph + 8)
      let end = min(o + u64(ph + 32), elf.count)
      while o + 12 <= end {
        let namesz = u32(o), descsz = u32(o + 4), type = u32(o + 8)
        let name = o + 12
        if namesz == 4, name + 3 <= end, elf[name..<(name + 3)] == [0x58, 0x65, 0x6E], type == 18 { return true }  // "Xen"
        o = name + (namesz + 3) / 4 * 4 + (descsz + 3) / 4 * 4
      }
    }
    return false
  }

  /// The cached PVH-bootable ELF for `image`, extracted on first use; nil (with the reason) when
  /// the image cannot boot that way.
  public static func kernel(for image: String, cacheDirectory: String) -> (path: String?, reason: String) {
    let dir = cacheDirectory + "/vmlinux"
    let digest: String
    do { digest = try ContentHash.files([image], memoFile: Initramfs.memoFile(cacheDirectory))[image]! } catch { return (nil, "\(error)") }
    let path = "\(dir)/\(digest).elf"
    let refused = "\(dir)/\(digest).no-pvh"
    let fm = FileManager.default
    if fm.fileExists(atPath: path) {
      _ = utimes(path, nil)
      return (path, "cached")
    }
    if let why = HostProcess.readFile(refused) { return (nil, why.trimmingCharacters(in: "\n")) }
    try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let (result, why) = extract(image, to: path)
    if !result { try? Data((why + "\n").utf8).write(to: URL(fileURLWithPath: refused)) }
    prune(dir, keep: 8)
    return (result ? path : nil, why)
  }

  static func extract(_ image: String, to path: String) -> (Bool, String) {
    guard let data = FileManager.default.contents(atPath: image) else { return (false, "cannot read \(image)") }
    let bytes = [UInt8](data)
    guard let (payload, size) = payload(ofBzImage: bytes) else { return (false, "not a bzImage with a payload (boot protocol 2.08+)") }
    guard let (name, argv) = compressor(of: payload) else { return (false, "payload compressed in a format the lab does not know") }
    let tmp = "\(path).\(getpid()).tmp"
    defer { unlink(tmp); unlink(tmp + ".z") }
    guard FileManager.default.createFile(atPath: tmp + ".z", contents: Data(payload)) else { return (false, "cannot write \(tmp).z") }
    // The tools stop at the end of the stream; gzip warns about nothing since the size is gone.
    guard let pid = try? HostProcess.spawn(argv + [tmp + ".z"], stdout: tmp), HostProcess.wait(pid).succeeded else {
      return (false, "\(argv[0]) could not decompress the \(name) payload")
    }
    guard let elf = FileManager.default.contents(atPath: tmp), elf.count == size else {
      return (false, "the \(name) payload did not decompress to its recorded \(size) bytes")
    }
    guard hasPVHEntry(elf: [UInt8](elf)) else { return (false, "vmlinux has no PVH entry note (CONFIG_PVH off)") }
    guard rename(tmp, path) == 0 else { return (false, "cannot rename into \(path)") }
    return (true, "extracted from the \(name) payload")
  }

  /// Keeps the `keep` most recently used files of a cache directory (by modification time,
  /// which a use refreshes).
  static func prune(_ dir: String, keep: Int) {
    let fm = FileManager.default
    let names = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasSuffix(".tmp") && !$0.contains(".tmp.") }
    let dated = names.compactMap { n -> (String, Date)? in
      (try? fm.attributesOfItem(atPath: dir + "/" + n)[.modificationDate] as? Date).map { (n, $0) }
    }.sorted { $0.1 > $1.1 }
    for (n, _) in dated.dropFirst(keep) { unlink(dir + "/" + n) }
  }
}
