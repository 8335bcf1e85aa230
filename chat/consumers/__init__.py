"""The chat sockets: `widget` (`/ws/widget/`, a visitor's tab) and `agent`
(`/ws/agent/`, an agent's console). Both are `chat.delivery.ChatSocket`s.
"""
