import ArgumentParser
import DaxPinCore
import DaxPinLinux
import Glibc

/// `daxpin contract` (hidden): answers the misuse scenarios on this machine's real kernel, as JSON.
/// The lab runs it in each guest and compares the answers with the kernel's fake profile.
struct ContractCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "contract", abstract: "Answer the misuse scenarios on the real kernel (used by the lab).", shouldDisplay: false)

  func run() throws {
    guard getuid() == 0 else { throw Exit.toolFailure("contract needs root") }
    let inventory = LinuxInventory().collect()
    let targets = ProbeTargets.resolve(inventory: inventory, options: ProbeOptions())
    try Stdout.write(try ReportJSON.encode(MisuseScenarios.run(LinuxKernel(), .init(targets: targets))))
  }
}
