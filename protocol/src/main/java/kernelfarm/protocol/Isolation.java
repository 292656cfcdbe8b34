package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * The sandbox a candidate ran in, as its own process observed it from inside (so a misconfigured host shows in the
 * verdict, not only in the worker's log).
 *
 * @param mode how the worker isolated it: {@code bwrap}, {@code unshare} or {@code none}
 * @param uid the user id the candidate ran as (0 is root)
 * @param noNewPrivileges whether no_new_privs was set, so nothing it executes can gain privileges
 * @param capabilities the effective capability mask, in hex; {@code 0} means none
 * @param ownPidNamespace whether it saw only its own sandbox's processes
 * @param networkIsolated whether it saw no network interface but loopback
 * @param readOnlyRoot whether the root filesystem was read-only to it
 * @param gaps what fell short of full isolation, in words; empty when nothing did
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Isolation(
    String mode,
    int uid,
    boolean noNewPrivileges,
    String capabilities,
    boolean ownPidNamespace,
    boolean networkIsolated,
    boolean readOnlyRoot,
    List<String> gaps)
    implements CborSerializable {
  public Isolation {
    Require.nonBlank(mode, "mode");
    gaps = Require.copyOrEmpty(gaps);
  }

  /** Whether every wall was up: an unprivileged user with no capabilities in its own namespaces. */
  public boolean complete() {
    return gaps.isEmpty();
  }
}
