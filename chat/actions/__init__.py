"""Everything that changes a conversation, by subject; chat's write side.

Bottom to top (a module imports only the ones below it):

- `chat.log` (outside this package): the event log, the one writer of
  `ConversationEvent` rows, and the doorbell after each commit.
- `routing`: applies the routing policy to the queues (route a department,
  assign, requeue one chat, settle an offer). It never asks for a pass.
- `scheduling`: the scheduler. Coalesces the routing passes and queue
  snapshots that committed actions ask for, and runs them.
- `participants`: read markers and typing.
- `conversations`: start, message, accept, close, rate, and the automatic
  tickets a chat can turn into (via `chat.conversion`). What happens when a
  chat is closed is all there.
- `transfer`: to another department or agent.
- `presence`: an agent's presence as it drives routing; requeueing the
  chats of agents who are gone or who let an offer expire.
- `attachments`: files posted into a conversation.
- `deflection`: KB articles suggested while a chat waits; closing it as deflected.
- `visitors`: create, identify, merge; the widget's `hello`.

Read-only helpers they use: `chat.queue` (queues, snapshots, estimates),
`chat.queries` (what sockets read), `chat.access` (who may see what).
Only `chat.log` and this package publish to the channel layer.

Import from the submodules (`from chat.actions.conversations import
close_conversation`): this package re-exports nothing.
"""
