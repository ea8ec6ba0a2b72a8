package demo

// guideSection is one chapter of the field guide on /long.
type guideSection struct {
	ID, Title  string
	Paragraphs []string
	Checklist  []string
}

// fieldGuide is long on purpose: ten chapters, well over eight screens, so that
// scrolling, in-page anchors and "back to top" matter when co-browsing.
var fieldGuide = []guideSection{
	{
		ID: "planning", Title: "Planning your route",
		Paragraphs: []string{
			"Every good trip starts at the kitchen table with a map. Trace the route, note the water sources, and mark two places where you could turn back. Distance matters less than ascent: a steady walker covers four kilometres an hour on the flat and loses about an hour for every six hundred metres of climb.",
			"Check the forecast three days out and again on the morning you leave. Wind above fifty kilometres an hour on exposed ridges is the most common reason our staff change plans, more often than rain.",
			"Leave your route and the time you expect to be back with someone at home, and agree on the hour at which they should call for help if they have not heard from you.",
		},
		Checklist: []string{"Printed map and compass", "Route shared with a friend", "Turn-back points marked", "Forecast checked twice"},
	},
	{
		ID: "layering", Title: "Dressing in layers",
		Paragraphs: []string{
			"Three layers cover almost every day in the hills: a base layer that moves sweat away from the skin, an insulating layer that traps warm air, and a shell that keeps out wind and rain.",
			"Start walking slightly cold. Within ten minutes you will be warm, and a sweat-soaked base layer is the fastest way to get chilled at the first rest stop.",
			"Merino wool stays comfortable over several days and resists odour; synthetics dry faster. Cotton, which holds water against the skin, has no place in a pack.",
		},
		Checklist: []string{"Base layer (merino or synthetic)", "Fleece or light puffy", "Waterproof shell", "Spare socks in a dry bag"},
	},
	{
		ID: "shelter", Title: "Choosing a shelter",
		Paragraphs: []string{
			"A freestanding tent pitches anywhere, including on rock and wooden platforms. Trekking-pole shelters save weight but need good pegging and a little practice.",
			"Pitch with the narrow end into the wind and keep the fly taut: a flapping fly is a sleepless night. Look up before you choose a spot and avoid dead branches overhead.",
			"Condensation is normal. Open both vents, avoid pitching in hollows where cold air pools, and wipe the inner with a small cloth in the morning.",
		},
		Checklist: []string{"Practise pitching at home", "Spare pegs and guy line", "Footprint or groundsheet", "Small repair kit"},
	},
	{
		ID: "sleeping", Title: "Sleeping warm",
		Paragraphs: []string{
			"A sleeping bag's comfort rating is the temperature at which an average sleeper stays comfortable in a relaxed position. If you sleep cold, add five degrees.",
			"The mat matters as much as the bag. The ground draws heat away all night, and a mat's R-value tells you how well it resists that; above four is right for shoulder seasons.",
			"Eat something with fat before bed, change into dry clothes, and fill a bottle with hot water to keep at your feet.",
		},
		Checklist: []string{"Bag rated for the season", "Mat with an R-value of 4 or more", "Dry sleeping clothes", "Warm hat"},
	},
	{
		ID: "cooking", Title: "Cooking outdoors",
		Paragraphs: []string{
			"A canister stove is simple and clean; a liquid-fuel stove copes better with deep cold and high altitude. Either way, cook in the open or in a well-ventilated vestibule, never inside the tent.",
			"Plan about 800 grams of food per person per day for an average trip and more in winter. Dehydrated meals are light; couscous, noodles and instant mash cook fastest.",
			"A windshield halves fuel use. Keep the canister warm in your sleeping bag on cold nights so that it vaporises properly in the morning.",
		},
		Checklist: []string{"Stove and lighter", "Fuel for every day plus one", "Pot, spoon and mug", "Windshield"},
	},
	{
		ID: "water", Title: "Finding and treating water",
		Paragraphs: []string{
			"Moving water from high up is usually the safest source, but even a clear mountain stream can carry bacteria and parasites. Treat everything you drink.",
			"Filters are fast and remove sediment; chemical tablets are light and also deal with viruses; boiling for a minute works everywhere and needs only fuel.",
			"Drink before you are thirsty. Half a litre an hour is a good rule in warm weather, more on steep climbs.",
		},
		Checklist: []string{"Filter or tablets", "Two litres of carrying capacity", "Dirty-water bag", "Backup treatment"},
	},
	{
		ID: "navigation", Title: "Navigation basics",
		Paragraphs: []string{
			"A phone with offline maps is an excellent tool and a poor only tool. Batteries fail in the cold, and screens are hard to read in the rain. Carry a paper map and a compass, and know how to use both.",
			"Set the map so that its north points to the real north, then match the shapes of the land to the contour lines. Tick off features as you pass them and you will always know roughly where you are.",
			"In fog, walk on a bearing to a feature you cannot miss, such as a stream or a wall, and then follow it.",
		},
		Checklist: []string{"Map in a waterproof case", "Baseplate compass", "Offline maps on a charged phone", "Power bank"},
	},
	{
		ID: "weather", Title: "Reading the weather",
		Paragraphs: []string{
			"Towering clouds that build through the morning are an early sign of afternoon storms. Plan to be off summits and ridges by early afternoon in summer.",
			"Temperature drops about six and a half degrees for every thousand metres of height, and wind makes it feel much colder. A mild day in the valley can be a winter day on top.",
			"If lightning is near, leave high ground, stay away from lone trees and metal fences, and crouch on your pack if you are caught in the open.",
		},
		Checklist: []string{"Forecast for the summit, not the town", "Turn-around time agreed", "Warm layer even in summer", "Headtorch"},
	},
	{
		ID: "first-aid", Title: "First aid on the trail",
		Paragraphs: []string{
			"Most trail injuries are small: blisters, cuts and sprains. Tape a hot spot the moment you feel it and you will rarely get a blister at all.",
			"A compact kit should hold plasters, blister dressings, tape, an elastic bandage, pain relief, antiseptic wipes, tweezers and a foil blanket. Know what is in it and how to use it.",
			"Take a first-aid course made for the outdoors. What you learn about keeping someone warm and calm until help arrives matters more than anything in the bag.",
		},
		Checklist: []string{"Blister kit and tape", "Elastic bandage", "Foil blanket", "Emergency numbers written down"},
	},
	{
		ID: "leave-no-trace", Title: "Leave no trace",
		Paragraphs: []string{
			"Take home everything you bring, including food scraps and tissue. Orange peel takes two years to break down on a mountain.",
			"Camp at least sixty metres from lakes and streams, on durable ground, and leave the spot as you found it. Use an existing fire ring or, better, a stove.",
			"Respect wildlife by watching from a distance and never feeding animals. Keep noise low: other people came for the quiet too.",
		},
		Checklist: []string{"Rubbish bag", "Trowel", "Stove instead of a fire", "Camp 60 m from water"},
	},
}
