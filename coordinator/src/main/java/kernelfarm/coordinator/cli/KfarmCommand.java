package kernelfarm.coordinator.cli;

import kernelfarm.coordinator.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kfarm}: the command line of KernelFarm. */
@Command(name = "kfarm", mixinStandardHelpOptions = true, version = "kfarm 0.1.0",
    description = "KernelFarm: verify, benchmark and search GPU kernels.",
    subcommands = {DemoCommand.class, CampaignCommand.class, NodeCommand.class, NodesCommand.class,
        VerifyCommand.class, BenchCommand.class})
public final class KfarmCommand implements Runnable {
  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  /** Runs the command line; bad input prints the error (naming the option and the fix) and exits 2. */
  public static int execute(String... args) {
    return execute(new CommandLine(new KfarmCommand()), args);
  }

  /** The same, printing to {@code out} and {@code err}: how tests read what a command printed. */
  public static int execute(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
    CommandLine cli = new CommandLine(new KfarmCommand());
    cli.setOut(out);
    cli.setErr(err);
    return execute(cli, args);
  }

  private static int execute(CommandLine cli, String... args) {
    cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
      if (e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
        commandLine.getErr().println("kfarm: " + e.getMessage());
        return 2;
      }
      throw e;
    });
    return cli.execute(args);
  }
}
