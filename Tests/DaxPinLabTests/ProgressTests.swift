import DaxPinLinux
import Foundation
import Synchronization
import Testing

@testable import DaxPinLab

/// Long steps' progress: kbuild output counted against an estimate, downloads by bytes, and how
/// often each reaches a terminal or a log.
@Suite("progress of long steps")
struct ProgressTests {
  /// kbuild's short lines as `make bzImage` (no -s) prints them, captured from a 6.x build.
  static let buildOutput = """
      SYNC    include/config/auto.conf.cmd
      HOSTCC  scripts/basic/fixdep
      WRAP    arch/x86/include/generated/uapi/asm/bpf_perf_event.h
      UPD     include/generated/uts_release.h
      HOSTCC  scripts/mod/mk_elfconfig
      CC      scripts/mod/empty.o
      CC      kernel/bounds.s
      CC      arch/x86/kernel/asm-offsets.s
      CALL    scripts/checksyscalls.sh
      CC      init/main.o
      CC      init/do_mounts.o
    arch/x86/kernel/cpu/common.c: In function 'identify_cpu':
    arch/x86/kernel/cpu/common.c:1801:9: warning: unused variable 'x' [-Wunused-variable]
      AS      arch/x86/entry/entry_64.o
      CC      kernel/fork.o
      AR      init/built-in.a
      AR      built-in.a
      AR      vmlinux.a
      LD      vmlinux.o
      MODPOST vmlinux.symvers
      KSYMS   .tmp_vmlinux.kallsyms1.S
      LD      .tmp_vmlinux.kallsyms1
      SORTTAB vmlinux
      SYSMAP  System.map
      OBJCOPY arch/x86/boot/compressed/vmlinux.bin
      ZOFFSET arch/x86/boot/zoffset.h
      BUILD   arch/x86/boot/bzImage
    Kernel: arch/x86/boot/bzImage is ready  (#1)
    """

  @Test func kbuildLinesAreCounted() {
    var p = KbuildProgress(expected: 10, start: 100)
    let lines = Self.buildOutput.split(separator: "\n")
    // Up to the first AR: five objects (empty.o, main.o, do_mounts.o, entry_64.o, fork.o); the
    // asm-offsets .s files, host tools and compiler warnings are not objects.
    for line in lines.prefix(while: { !$0.contains("AR ") }) { p.consume(line) }
    #expect(p.compiled == 5)
    #expect(!p.linking)
    #expect(p.summary(now: 160) == "5 of ~10 objects (50%), 1:00 elapsed")
    for line in lines.drop(while: { !$0.contains("AR ") }) { p.consume(line) }
    #expect(p.compiled == 5)
    #expect(p.linking)
    #expect(p.summary(now: 1600) == "5 objects compiled, linking vmlinux, 25:00 elapsed")
  }

  @Test func estimateLeftAfterEnoughObjects() {
    var p = KbuildProgress(expected: 1000, start: 0)
    for i in 0..<250 { p.consume("  CC      drivers/x/\(i).o") }
    // A quarter in 5 minutes: 15 more at that pace.
    #expect(p.summary(now: 300) == "250 of ~1000 objects (25%), 5:00 elapsed, ~15:00 left")
    // Never claims 100% before the link.
    for i in 0..<900 { p.consume("  CC      drivers/y/\(i).o") }
    #expect(p.summary(now: 1200).hasPrefix("1150 of ~1000 objects (99%)"))
  }

  @Test func objectsEstimatedFromMakefilesAndConfig() throws {
    let tree = NSTemporaryDirectory() + "kbuild-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: tree) }
    func write(_ rel: String, _ text: String) throws {
      let path = tree + "/" + rel
      try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
    try write(".config", "CONFIG_FOO=y\nCONFIG_BAR=y\n# CONFIG_OFF is not set\nCONFIG_MOD=m\n")
    try write("Makefile", """
      # top level
      obj-y += a.o b.o   # two
      obj-$(CONFIG_FOO) += foo.o
      foo-y := f1.o f2.o \\
               f3.o
      foo-$(CONFIG_BAR) += f4.o
      foo-$(CONFIG_OFF) += f5.o
      obj-$(CONFIG_OFF) += off.o
      obj-$(CONFIG_MOD) += mod.o
      obj-y += sub/
      lib-y += l.o
      ccflags-y += -DX
      """)
    try write("sub/Kbuild", "obj-y += s.o\n")
    try write("arch/x86/Makefile", "obj-y += x86.o\n")
    try write("arch/arm/Makefile", "obj-y += arm.o\n")
    try write("tools/Makefile", "obj-y += tool.o\n")
    // a, b, f1–f4 (foo.o is linked from them), l; then s and x86: 9.
    #expect(KbuildProgress.objects(inMakefile: try String(contentsOfFile: tree + "/Makefile", encoding: .utf8), enabled: ["FOO", "BAR"]) == 7)
    #expect(KbuildProgress.estimateObjects(tree: tree) == 9)
  }

  @Test func throttleShowsEveryIntervalInALogAndEverySecondOnATerminal() {
    let lines = Mutex<[String]>([])
    let statuses = Mutex<[String]>([])
    let log = ProgressSink(interactive: false, interval: 30, line: { s in lines.withLock { $0.append(s) } })
    let t = log.step()
    for second in stride(from: 0.0, through: 95, by: 5) { t.update("at \(Int(second))", now: 1000 + second) }
    #expect(lines.withLock { $0 } == ["at 30", "at 60", "at 90"])
    let tty = ProgressSink(interactive: true, line: { _ in }, status: { s in statuses.withLock { $0.append(s) } })
    let u = tty.step()
    for tenth in 0...25 { u.update("\(tenth)", now: 1000 + Double(tenth) / 10) }
    #expect(statuses.withLock { $0 } == ["10", "20"])
  }

  @Test func buildOfAStandInProcessReportsProgress() throws {
    let dir = NSTemporaryDirectory() + "make-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // A stand-in for make: 40 objects over about 2 s, then the link.
    let pid = try HostProcess.spawn(
      ["sh", "-c", "for i in $(seq 1 40); do echo \"  CC      kernel/f$i.o\"; sleep 0.05; done; echo '  LD      vmlinux.o'; echo '  BUILD   arch/x86/boot/bzImage'"],
      stdout: dir + "/out", stderr: dir + "/out")
    let lines = Mutex<[String]>([])
    let sink = ProgressSink(interactive: false, interval: 0.5, line: { s in lines.withLock { $0.append(s) } })
    let exit = SourceKernelBuilder.follow(pid: pid, output: dir + "/out", expected: 40, progress: sink, poll: 0.05)
    #expect(exit.succeeded)
    let shown = lines.withLock { $0 }
    #expect(shown.count >= 3, "\(shown)")
    #expect(shown.dropLast().allSatisfy { $0.hasPrefix("building bzImage: ") })
    let counts = shown.dropLast().compactMap { Int($0.dropFirst("building bzImage: ".count).prefix { $0.isNumber }) }
    #expect(counts == counts.sorted() && counts.first! < 40, "\(counts)")
    #expect(shown.last?.hasPrefix("built: 40 objects compiled, linking vmlinux") == true, "\(shown)")
  }

  @Test func downloadShowsBytes() throws {
    #expect(AptRepository.downloaded(13_107_200, of: 73_400_320) == "12.5 of 70.0 MB (17%)")
    #expect(AptRepository.downloaded(1_048_576, of: nil) == "1.0 MB")
    let dir = NSTemporaryDirectory() + "apt-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // A stand-in for apt-get download: the .deb grows by 256 KiB every 0.1 s to 2 MiB.
    let pid = try HostProcess.spawn(
      ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do head -c 262144 /dev/zero >> linux-image-x_1.0_amd64.deb; sleep 0.1; done"],
      workingDirectory: dir)
    let lines = Mutex<[String]>([])
    let sink = ProgressSink(interactive: false, interval: 0.25, line: { s in lines.withLock { $0.append(s) } })
    let exit = AptRepository.follow(pid: pid, dir: dir, package: "linux-image-x", total: 2 << 20, progress: sink, poll: 0.05)
    #expect(exit.succeeded)
    let shown = lines.withLock { $0 }
    #expect(shown.count >= 2, "\(shown)")
    #expect(shown.allSatisfy { $0.hasPrefix("downloading linux-image-x: ") && $0.hasSuffix("%)") && $0.contains(" of 2.0 MB (") })
  }
}
