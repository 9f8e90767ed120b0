package io.loadstar.dns;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Name;
import org.xbill.DNS.NameTooLongException;
import org.xbill.DNS.ResolverConfig;

/*
 * Design notes: resolv.conf semantics. A name with a trailing dot is absolute and tried alone. A
 * relative name with at least ndots dots is tried as-is first, then with each search domain; one
 * with fewer dots is tried with the search domains first and as-is last. The first candidate that
 * answers with records (or fails) ends the search; NXDOMAIN or no data moves to the next.
 */
/** The names to try for one configured name, in order. Immutable. */
final class SearchPath {

  private static final Logger logger = LoggerFactory.getLogger(SearchPath.class);

  private final List<Name> candidates;

  private SearchPath(List<Name> candidates) {
    this.candidates = List.copyOf(candidates);
  }

  /**
   * The candidates for {@code text} (parsed as {@code name}), with {@code domains} and {@code
   * ndots}, or the system's ({@code /etc/resolv.conf}) where those are null or negative.
   */
  static SearchPath of(String text, Name name, @Nullable List<Name> domains, int ndots) {
    if (text.endsWith(".")) {
      return new SearchPath(List.of(name)); // absolute
    }
    List<Name> search = domains != null ? domains : ResolverConfig.getCurrentConfig().searchPath();
    int dots = ndots >= 0 ? ndots : ResolverConfig.getCurrentConfig().ndots();
    long count = text.chars().filter(c -> c == '.').count();
    List<Name> out = new ArrayList<>();
    if (count >= dots) {
      out.add(name);
    }
    Name relative = name.relativize(Name.root);
    for (Name domain : search) {
      try {
        out.add(Name.concatenate(relative, domain));
      } catch (NameTooLongException e) {
        logger.debug("skipping search domain {} for {}: {}", domain, text, e.toString());
      }
    }
    if (count < dots) {
      out.add(name);
    }
    return new SearchPath(out);
  }

  List<Name> candidates() {
    return candidates;
  }

  /** Resolves the candidates in order with {@code lookup} until one has something to say. */
  CompletableFuture<LookupResult> resolve(Function<Name, CompletableFuture<LookupResult>> lookup) {
    return tryFrom(0, lookup);
  }

  private CompletableFuture<LookupResult> tryFrom(
      int index, Function<Name, CompletableFuture<LookupResult>> lookup) {
    return lookup
        .apply(candidates.get(index))
        .thenCompose(
            r ->
                r.notFound() && index + 1 < candidates.size()
                    ? tryFrom(index + 1, lookup)
                    : CompletableFuture.completedFuture(r));
  }
}
