/// The signature a distribution appends to each kernel module (the kernel's `scripts/sign-file`):
/// the module's ELF image, then the PKCS#7 signature, then a 12-byte `struct module_signature`
/// (`include/linux/module_signature.h`: algorithm, hash, id type, signer and key-id lengths, three
/// pad bytes, and the signature's length as a big-endian 32-bit number), then the marker
/// `~Module signature appended~\n`.
///
/// On a kernel built with `CONFIG_MODULE_SIG` but without `CONFIG_MODULE_SIG_FORCE` (Debian's),
/// `load_module` checks a signature only to decide whether to taint the kernel: an unsigned module
/// loads the same code and taints it `E` (unsigned module). Under TCG hashing and verifying the
/// lab's ~7 MB of modules took 0.3 s of every boot, so the lab's initramfs carries its modules
/// without their signatures where the kernel allows it (`unsignedModulesLoad(config:)`).
enum ModuleSignature {
  static let marker = Array("~Module signature appended~\n".utf8)
  /// `sizeof(struct module_signature)`.
  static let infoBytes = 12
  /// `PKEY_ID_PKCS7`: the only id type sign-file writes; signer and key id are then empty.
  static let pkcs7 = UInt8(2)

  /// The module without its appended signature; nil when it carries none or the trailer is not
  /// one sign-file writes (the module is then kept as it is).
  static func unsigned(_ module: [UInt8]) -> ArraySlice<UInt8>? {
    let trailer = marker.count + infoBytes
    guard module.count > trailer, module.suffix(marker.count).elementsEqual(marker) else { return nil }
    let info = module.count - trailer
    guard module[info + 2] == pkcs7, module[info + 3] == 0, module[info + 4] == 0 else { return nil }
    let length = module[(info + 8)..<(info + 12)].reduce(0) { $0 << 8 | Int($1) }
    // The kernel's own check (mod_check_sig): the signature must leave a module before it.
    guard length > 0, length < info else { return nil }
    let image = module[..<(info - length)]
    guard image.starts(with: elfMagic) else { return nil }
    return image
  }

  static let elfMagic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]

  /// Whether a kernel with this `.config` loads a module that carries no signature: it must be
  /// known, and must not enforce signatures — `CONFIG_MODULE_SIG_FORCE=y` (`load_module` refuses
  /// an unsigned module with EKEYREJECTED) or a lockdown it forces at boot,
  /// `CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y` or `_CONFIDENTIALITY=y` (EPERM). The lab's
  /// command line sets neither `module.sig_enforce` nor `lockdown=`. An unknown config keeps the
  /// signatures.
  static func unsignedModulesLoad(config: String?) -> Bool {
    guard let config else { return false }
    let enforcing: Set<Substring> = [
      "CONFIG_MODULE_SIG_FORCE=y", "CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y", "CONFIG_LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY=y",
    ]
    return !config.split(separator: "\n").contains { enforcing.contains($0) }
  }
}
