package io.loadstar.grpc;

import io.grpc.ClientCall;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What the caller of one RPC did that a new attempt must do again: messages asked for, messages
 * sent, the half-close and the compression setting. Kept until the RPC commits, then only the
 * messages are let go (nothing is replayed once an RPC cannot be repeated). Confined to its call's
 * serializer.
 */
final class CallRecord<ReqT> {

  private int requested;
  private @Nullable List<ReqT> messages = new ArrayList<>(1);
  private boolean halfClosed;
  private @Nullable Boolean compression;

  void request(int numMessages) {
    requested = (int) Math.min(Integer.MAX_VALUE, (long) requested + numMessages);
  }

  /** Keeps {@code message} for a later attempt, unless the RPC has committed. */
  void message(ReqT message) {
    List<ReqT> kept = messages;
    if (kept != null) {
      kept.add(message);
    }
  }

  void halfClose() {
    halfClosed = true;
  }

  void compression(boolean enabled) {
    compression = enabled;
  }

  /** The RPC committed: the messages are not sent again. */
  void release() {
    messages = null;
  }

  /** Does to a new attempt's call, just started, what the caller did so far. */
  <RespT> void replayOnto(ClientCall<ReqT, RespT> call) {
    Boolean compress = compression;
    if (compress != null) {
      call.setMessageCompression(compress);
    }
    if (requested > 0) {
      call.request(requested);
    }
    List<ReqT> kept = messages;
    if (kept != null) {
      for (ReqT m : kept) {
        call.sendMessage(m);
      }
    }
    if (halfClosed) {
      call.halfClose();
    }
  }
}
