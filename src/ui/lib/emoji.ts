/** A hand-picked set of common emoji with search names, for the composer's picker. */
const DATA = `😀 grinning|😃 smiley|😄 smile|😁 grin|😆 laughing|😅 sweat smile|🤣 rofl|😂 joy|🙂 slightly smiling|🙃 upside down|😉 wink|😊 blush|😇 innocent|🥰 love|😍 heart eyes|🤩 star struck|😘 kiss|😋 yum|😛 tongue|😜 wink tongue|🤪 zany|😝 squint tongue|🤑 money|🤗 hug|🤭 oops|🤫 shush|🤔 thinking|🤐 zipper|🤨 raised eyebrow|😐 neutral|😑 expressionless|😶 no mouth|😏 smirk|😒 unamused|🙄 eye roll|😬 grimace|😌 relieved|😔 pensive|😪 sleepy|😴 sleeping|😷 mask|🤒 sick|🤕 hurt|🤢 nauseated|🤧 sneeze|🥵 hot|🥶 cold|🥴 woozy|😵 dizzy|🤯 mind blown|🤠 cowboy|🥳 party|😎 cool|🤓 nerd|🧐 monocle|😕 confused|😟 worried|🙁 frown|😮 open mouth|😯 hushed|😲 astonished|😳 flushed|🥺 pleading|😦 frowning|😧 anguished|😨 fearful|😰 anxious|😥 sad relieved|😢 cry|😭 sob|😱 scream|😖 confounded|😣 persevere|😞 disappointed|😓 sweat|😩 weary|😫 tired|🥱 yawn|😤 triumph|😡 angry|😠 mad|🤬 cursing|😈 devil|💀 skull|💩 poop|🤡 clown|👻 ghost|👽 alien|🤖 robot|😺 cat|🙈 see no evil|🙉 hear no evil|🙊 speak no evil|👋 wave|🤚 raised back hand|✋ hand|🖖 vulcan|👌 ok|🤌 pinched|✌️ victory|🤞 fingers crossed|🤟 love you|🤘 rock|🤙 call me|👈 point left|👉 point right|👆 point up|👇 point down|☝️ index up|👍 thumbs up|👎 thumbs down|✊ fist|👊 punch|👏 clap|🙌 raised hands|👐 open hands|🤲 palms up|🤝 handshake|🙏 pray thanks|✍️ writing|💪 muscle|🧠 brain|👀 eyes|👁️ eye|👶 baby|🧑 person|👩 woman|👨 man|🧑‍💻 technologist|🧑‍🍳 cook|🕵️ detective|💁 tipping hand|🙋 raising hand|🤦 facepalm|🤷 shrug|🏃 running|💃 dancing|❤️ red heart|🧡 orange heart|💛 yellow heart|💚 green heart|💙 blue heart|💜 purple heart|🖤 black heart|🤍 white heart|💔 broken heart|💕 two hearts|💯 hundred|💢 anger|💥 boom|💫 dizzy star|💦 droplets|💨 dash|💬 speech|💭 thought|💤 zzz|🔥 fire|✨ sparkles|⭐ star|🌟 glowing star|⚡ zap|☀️ sun|🌙 moon|🌈 rainbow|☁️ cloud|🌧️ rain|❄️ snowflake|☕ coffee|🍵 tea|🍺 beer|🍻 cheers|🍷 wine|🥂 toast|🍕 pizza|🍔 burger|🍟 fries|🌮 taco|🍣 sushi|🍜 ramen|🍰 cake|🎂 birthday cake|🍪 cookie|🍫 chocolate|🍎 apple|🍌 banana|🥑 avocado|🎉 tada|🎊 confetti|🎈 balloon|🎁 gift|🏆 trophy|🥇 gold medal|⚽ soccer|🏀 basketball|🎮 video game|🎯 bullseye|🎲 dice|🎵 music|🎧 headphones|📷 camera|💻 laptop|🖥️ desktop|⌨️ keyboard|🖱️ mouse|📱 phone|☎️ telephone|🔋 battery|🔌 plug|💡 bulb idea|🔦 flashlight|📚 books|📖 book|📝 memo|✏️ pencil|📌 pin|📎 paperclip|📅 calendar|📈 chart up|📉 chart down|📊 bar chart|📋 clipboard|📁 folder|🗂️ dividers|🗑️ wastebasket|🔒 lock|🔓 unlock|🔑 key|🔨 hammer|🛠️ tools|⚙️ gear|🧪 test tube|🔗 link|📦 package|✉️ envelope|📧 email|📣 megaphone|🔔 bell|🔕 no bell|⏰ alarm|⌛ hourglass|⏳ hourglass flowing|🚀 rocket|✈️ airplane|🚗 car|🚲 bike|🏠 house|🏢 office|🌍 earth|🗺️ map|✅ check|☑️ ballot check|✔️ check mark|❌ cross|❎ cross mark|➕ plus|➖ minus|❓ question|❗ exclamation|⚠️ warning|🚫 prohibited|⛔ no entry|🆗 ok button|🆕 new|🆘 sos|🔴 red circle|🟢 green circle|🟡 yellow circle|🔵 blue circle|⬆️ up|⬇️ down|➡️ right|⬅️ left|🔁 repeat|🔄 refresh|👑 crown|💎 gem|💰 money bag|🐛 bug|🐞 ladybug|🐶 dog|🐱 cat face|🦊 fox|🐻 bear|🐼 panda|🐸 frog|🐵 monkey|🦄 unicorn|🐝 bee|🌱 seedling|🌲 tree|🌵 cactus|🌸 blossom|🌹 rose|🌻 sunflower|🍀 clover|🍁 maple leaf`

export interface Emoji {
  char: string
  name: string
}

export const EMOJI: readonly Emoji[] = DATA.split('|').map((pair) => {
  const i = pair.indexOf(' ')
  return { char: pair.slice(0, i), name: pair.slice(i + 1) }
})

/** Emoji whose name contains every word of `query`. */
export function searchEmoji(query: string): readonly Emoji[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean)
  if (words.length === 0) return EMOJI
  return EMOJI.filter((e) => words.every((w) => e.name.includes(w)))
}
