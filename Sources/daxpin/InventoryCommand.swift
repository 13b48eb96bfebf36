import ArgumentParser
import DaxPinCore
import DaxPinLinux

/// `daxpin inventory`: what this host offers for long-term DMA pins.
struct InventoryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inventory",
    abstract: "Show the kernel, IOMMU, VFIO, iommufd, io_uring, pmem and DAX mounts of this host.",
    discussion: """
      Read-only: nothing is created, bound or reconfigured. Runs without root, but VFIO groups
      and pmem details may then be incomplete. Whatever is absent is listed with what would
      enable it. Exit status 0 whatever is absent.
      """)

  @OptionGroup var output: OutputOptions

  @Option(help: ArgumentHelp("Read /proc, /sys, /dev and /boot under ROOT (a fixture tree).", visibility: .hidden))
  var root: String = ""

  func validate() throws {
    guard output.format == .text || output.format == .json else { throw ValidationError("inventory prints text or json, not \(output.format.rawValue)") }
  }

  func run() throws {
    let inventory = LinuxInventory(root: root).collect()
    let json = try ReportJSON.encode(inventory)
    try output.writeFile(json)
    try Stdout.write(output.format == .json ? json : InventoryText.render(inventory))
  }
}
