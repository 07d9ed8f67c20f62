"""Chinese text helpers shared by the bot and the voice gateway (pinyin + accent mergers, ...)."""
