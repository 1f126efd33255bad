// The Order Status page: the server rendered the order into the HTML; orderchat.js keeps it
// current (the <order-chat> element shares it, embed.js).

import { OrderChat } from "./orderchat.js";

new OrderChat(document).start();
